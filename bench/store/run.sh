#!/usr/bin/env bash
# The shared store conformance suite (internal/store/storetest) on both
# stores, with each test's time: SQLite on a file and in memory, and
# PostgreSQL (a real server from Debian's postgresql package, started by
# internal/testutil/pgtest as an unprivileged cluster on a private port).
# Prints go test -v's per-test lines and each suite's wall time.
#   bash bench/store/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
uptime
run() { # package, test regexp
  local t0 t1
  t0=$(date +%s.%N)
  go test -count=1 -timeout 20m -run "$2" -v "$1" | grep -E '^(\s*--- (PASS|FAIL|SKIP)|ok|FAIL|PASS)'
  t1=$(date +%s.%N)
  printf '%s %s: %.1f s wall (build included)\n' "$1" "$2" "$(echo "$t1 - $t0" | bc)"
}
go test -count=1 -run XXX ./internal/store/sqlite/ ./internal/store/postgres/ >/dev/null # build first
run ./internal/store/sqlite/ '^TestConformance(File|Memory)$'
run ./internal/store/postgres/ '^TestConformance$'
