#!/usr/bin/env bash
# Detection and rollback speed with the default policy, plus the CPU cost of
# one evaluation and the memory of one watched service.
#   bash bench/detect/run.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-20}"
go run ./bench/detect -runs "$runs" -rates 200,1000
echo
go test -run '^$' -bench 'BenchmarkTick' -benchmem -count 1 ./internal/controller/
go test -run '^$' -bench 'BenchmarkServiceMemory' -benchtime 1x -count 1 ./internal/controller/
go test -run '^$' -bench 'BenchmarkEvaluate' -benchmem -count 1 ./internal/detect/
