#!/usr/bin/env bash
# Datadog and CloudWatch requests per service per minute at the default
# intervals (1 m), counted at local receivers, and what a 100-service fleet
# costs a month.
#   SERVICES=20 DURATION=3m bash bench/remote/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export RIPCORD_BENCH=1
go test -p 1 -count=1 -timeout 30m -run TestQueriesPerServicePerMinute -v ./bench/remote/ | grep -E '^(remote|---|ok|FAIL)'
