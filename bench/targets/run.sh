#!/usr/bin/env bash
# Per-revert cost of the built-in switch, the exec target (/bin/true by
# argv) and the MLflow alias switch (local registry), side by side.
#   bash bench/targets/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
nice -n 10 go test -count=1 -run '^$' -bench BenchmarkRevert -benchtime "${BENCHTIME:-2000x}" -benchmem ./bench/targets/
