#!/usr/bin/env bash
# Dashboard figures: the Services page with 500 services (server render time,
# first contentful paint in headless Debian chromium) and SSE fan-out (100 Go
# clients plus one chromium during rollbacks: delivery p99, daemon CPU). The
# daemon runs as a child process so its CPU is its own.
#   bash bench/web/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RIPCORD_BENCH=1 nice -n 10 go test -count=1 -timeout 30m -run 'TestServicesPage500|TestSSEFanout' -v ./bench/web/ | grep -vE '^=== '
