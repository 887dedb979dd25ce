#!/usr/bin/env bash
# Slow clients: 200 clients per kind of stall (half a head, one byte of a
# body, nothing at all) against the switch; after HOLD (60 s) it prints how
# many the switch still holds and how many upstream connections they still
# occupy. With BASELINE=<git ref> the switch built from that ref is
# measured at the same time, on other ports, for before/after in one run.
#
#   BASELINE=main bash bench/proxy/slow.sh
#   CLIENTS=50 HOLD=15s bash bench/proxy/slow.sh
set -euo pipefail
CLIENTS=${CLIENTS:-200}
HOLD=${HOLD:-60s}
BASELINE=${BASELINE:-}
PORT_BASE=${PORT_BASE:-18190}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/ripcord-slowbench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=bench/proxy/lib.sh
. "$ROOT/bench/proxy/lib.sh"

ulimit -n 65536 2>/dev/null || true
(cd "$ROOT" && go build -o "$TMP/slowclients" ./bench/proxy/slowclients)
build_switchd "$TMP"
[ -z "$BASELINE" ] || build_switchd "$TMP/base" "$BASELINE"

"$TMP/slowclients" -switchd "$TMP/switchd" -label current -listen "127.0.0.1:$PORT_BASE" -clients "$CLIENTS" -hold "$HOLD" >"$TMP/current.out" &
pids=($!)
if [ -n "$BASELINE" ]; then
	"$TMP/slowclients" -switchd "$TMP/base/switchd" -label baseline -listen "127.0.0.1:$((PORT_BASE + 1))" -clients "$CLIENTS" -hold "$HOLD" >"$TMP/base.out" &
	pids+=($!)
fi
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
cat "$TMP"/*.out
exit $status
