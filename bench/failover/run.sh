#!/usr/bin/env bash
# Failover figures of the crash-fault suite: two real `ripcord serve`
# replicas on a private PostgreSQL (lease_ttl 1s); the leader SIGKILLs
# itself at each controller step (RIPCORD_TEST_CRASH_AT) ROUNDS times per
# step (default 5: 20 kills). Prints takeover p50/max (process exit seen →
# the follower's "acting" line), rollbacks per interrupted rollback and
# webhook deliveries per event, then the partition and PostgreSQL-restart
# runs.
#
#   bash bench/failover/run.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-5}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
RIPCORD_CRASH_ROUNDS="$rounds" go test ./test/e2e/ -count=1 -v -timeout 15m \
	-run 'TestCrashLeaderAtEveryStep|TestPartitionLeaderFromPostgres|TestPostgresRestartMidRollback' >"$out" 2>&1 || {
	grep -v '^ *\[run' "$out" | tail -40
	exit 1
}
grep -Eo '(FAILOVER|PARTITION|PGRESTART) .*' "$out"
