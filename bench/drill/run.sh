#!/usr/bin/env bash
# Drill figures: time to detect and requests affected per fault kind at
# 200 req/s and a 5 % share, against the same fault as a real bad deploy
# in the same run. RUNS (default 10) drills and deploys per kind.
#   nice -n 10 bash bench/drill/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RIPCORD_BENCH=1 RUNS="${RUNS:-10}" go test -count=1 -timeout 30m -run TestDrillFigures -v ./bench/drill/ 2>&1 | grep -E '^\s+drill_test.go|^(ok|FAIL|---)'
