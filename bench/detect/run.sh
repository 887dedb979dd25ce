#!/usr/bin/env bash
# Detection and rollback speed (the demo's policy; the issue-11 blast-radius
# and latency tables), plus the CPU cost of
# one evaluation and the memory of one watched service.
#   bash bench/detect/run.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-20}"
go run ./bench/detect -runs "$runs" -rates 200,1000
echo
# Issue 11: blast radius against the exact SPRT, and the latency faults.
go run ./bench/detect -table blast -runs "$runs" -rates 200,1000
echo
go run ./bench/detect -table latency -runs "$runs" -rates 200,1000
echo
go test -run '^$' -bench 'BenchmarkTick' -benchmem -count 1 ./internal/controller/
go test -run '^$' -bench 'BenchmarkServiceMemory' -benchtime 1x -count 1 ./internal/controller/
go test -run '^$' -bench 'BenchmarkEvaluate' -benchmem -count 1 ./internal/detect/
