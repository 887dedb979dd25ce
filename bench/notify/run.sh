#!/usr/bin/env bash
# Notification latency (decision → first delivery, verified → report) and
# delivery through a receiver outage (default 10 minutes).
#   OUTAGE=10m bash bench/notify/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RIPCORD_BENCH=1 OUTAGE="${OUTAGE:-10m}" go test -count=1 -timeout 60m -run TestNotificationLatencyAndOutage -v ./bench/notify/ | grep -vE '^=== '
