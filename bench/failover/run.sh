#!/usr/bin/env bash
# Failover figures of the crash-fault suite: two real `ripcord serve`
# replicas on a private PostgreSQL; the leader SIGKILLs itself at each
# controller step (RIPCORD_TEST_CRASH_AT) ROUNDS times per step (default 5:
# 20 kills). Prints takeover p50/max (process exit seen → the follower's
# "acting" line), rollbacks per interrupted rollback and webhook deliveries
# per event, then the partition (and, with postgres, PostgreSQL-restart)
# runs.
#
#   bash bench/failover/run.sh [ROUNDS] [postgres|kubernetes]
#
# postgres (default): lease rows in the store, lease_ttl 1s.
# kubernetes: ha.lease kubernetes on the kwok API server
# (scripts/k8s/cluster.sh), lease_ttl 4s, the shortest a Lease allows.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-5}"
lease="${2:-postgres}"
case "$lease" in
postgres) tests='TestCrashLeaderAtEveryStep|TestPartitionLeaderFromPostgres|TestPostgresRestartMidRollback' ;;
kubernetes) tests='TestCrashLeaderAtEveryStep|TestPartitionLeaderFromKubernetes' ;;
*) echo "lease must be postgres or kubernetes, not $lease" >&2; exit 2 ;;
esac
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
RIPCORD_CRASH_ROUNDS="$rounds" RIPCORD_CRASH_LEASE="$lease" go test ./test/e2e/ -count=1 -v -timeout 30m \
	-run "$tests" >"$out" 2>&1 || {
	grep -v '^ *\[run' "$out" | tail -40
	exit 1
}
grep -Eo '(FAILOVER|PARTITION|PGRESTART|KUBE-LEASE) .*' "$out"
