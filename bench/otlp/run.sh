#!/usr/bin/env bash
# OTLP ingest on one core: Consume alone (decoded data into the state), the
# whole HTTP path (protobuf decoding, bearer check, Consume), and the peer,
# pdata's protobuf decoding alone, in one run; then the heap a mapped
# series costs (10 versions × 2000 series). Each export is 200 cumulative
# histogram points of 15 buckets (40 routes × 5 status codes).
#   bash bench/otlp/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
GOMAXPROCS=1 nice -n 10 go test -count=1 -run '^$' -bench 'BenchmarkIngest|BenchmarkHTTPIngest|BenchmarkDecodeOnly' \
  -benchtime "${BENCHTIME:-3s}" -benchmem ./internal/signal/otlp/
go test -count=1 -run TestMemoryPerSeries -v ./internal/signal/otlp/ | grep -E 'heap per|^(ok|FAIL)'
