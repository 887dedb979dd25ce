#!/usr/bin/env bash
# Rollback speed from PromQL alone (1 s scrape / rate[5s], 5 s scrape /
# rate[20s], 30% errors injected), the peers' scenario (a warm version whose
# fault starts at a random moment: windowed queries against counts mode),
# a telemetry-loss soak (Prometheus down half the time), and rollback speed
# from OTLP alone (the OpenTelemetry SDK exporting every 1 s and 10 s)
# against Prometheus scraping at the same intervals. Needs Debian's
# prometheus.
#   RUNS=10 WARM=15s SOAK=10m bash bench/prometheus/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v prometheus >/dev/null || { apt-get update -qq && apt-get install -y -qq prometheus >/dev/null; }
export RIPCORD_BENCH=1 RUNS="${RUNS:-10}" WARM="${WARM:-15s}" SOAK="${SOAK:-10m}"
go test -count=1 -timeout 60m -run 'TestRollbackSpeed' -v ./bench/prometheus/ | grep -E '^(scrape|soak|---|ok|FAIL)'
go test -count=1 -timeout 90m -run 'TestPeersScenario' -v ./bench/prometheus/ | grep -E '^(peers|---|ok|FAIL)'
go test -count=1 -timeout 60m -run 'TestTelemetryLossSoak' -v ./bench/prometheus/ | grep -E '^(scrape|soak|---|ok|FAIL)'
go test -count=1 -timeout 60m -run 'TestOTLPRollbackSpeed' -v ./bench/prometheus/ | grep -E '^(every|---|ok|FAIL)'
