#!/usr/bin/env bash
# Active-version propagation across ha replicas on one PostgreSQL: the
# time from the acting replica's switch moving to each follower's.
#   REPLICAS=3 ROUNDS=200 bash bench/ha/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export RIPCORD_BENCH=1
go test -p 1 -count=1 -timeout 20m -run 'TestPropagation|TestBlastRadius' -v ./bench/ha/ | grep -E 'ha (propagation|blast)|^(---|ok|FAIL)'
