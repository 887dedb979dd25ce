#!/usr/bin/env bash
# One ripcord instance guarding a fleet: 10,000 services on Prometheus
# (counts mode; a real Prometheus scraping a synthetic exporter of 10,000
# services × 2 versions, in a child process) and 1,000 on the built-in
# switch, in one process. Reports cores, CPU per evaluation, memory per
# service, queries per scrape, the time to notice one bad deploy, and API
# read latency at 200 req/s. Needs Debian's prometheus.
#   N_PROM=10000 N_PROXY=1000 SCRAPE=5s SPAN=30s LIGHT=200 API_RATE=200 bash bench/scale/run.sh
# PROFILE_DIR=/tmp/p writes CPU profiles and execution traces of the
# external start, the steady span and the API reads there (start.cpu,
# steady.cpu, api.cpu, *.trace).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v prometheus >/dev/null || { echo "needs prometheus (apt-get install -y prometheus)" >&2; exit 1; }
uptime
RIPCORD_BENCH=1 go test -count=1 -timeout 60m -run '^TestScale$' -v ./bench/scale/ | grep --line-buffered -vE '^(=== RUN|\s*$|time=)' || true
