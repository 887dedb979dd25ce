#!/usr/bin/env bash
# Live-traffic cost of shadowing: the switch (bench/proxy/switchd, GOMAXPROCS=1)
# in front of the bench backend, once plain and once copying every GET to a
# second backend instance as the shadow version (a sink: its answers are
# discarded). Same machine, loopback, interleaved rounds.
#
#   1. open-loop load at 200 and 1,000 req/s (bench/shadow/load): p50 and p99
#      of live requests, plain vs shadow, and the difference;
#   2. wrk -t1 -c32: req/s, plain vs shadow, and the ratio.
#
#   bash bench/shadow/run.sh            # 10 s per run, 3 rounds
#   DURATION=5s ROUNDS=1 bash bench/shadow/run.sh
set -euo pipefail
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
PORT_BASE=${PORT_BASE:-18180}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/ripcord-shadowbench.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

BACKEND=127.0.0.1:$((PORT_BASE + 1))
SINK=127.0.0.1:$((PORT_BASE + 2))
PLAIN=127.0.0.1:$((PORT_BASE + 3))
SHADOW=127.0.0.1:$((PORT_BASE + 4))
(cd "$ROOT" && go build -o "$TMP/backend" ./bench/proxy/backend && go build -o "$TMP/switchd" ./bench/proxy/switchd &&
	go build -o "$TMP/load" ./bench/shadow/load)
start() { local name=$1; shift; "$@" >"$TMP/$name.log" 2>&1 & PIDS+=($!); }
start backend "$TMP/backend" -addr "$BACKEND"
start sink "$TMP/backend" -addr "$SINK"
start plain "$TMP/switchd" -procs 1 -listen "$PLAIN" -upstream "http://$BACKEND"
start shadow "$TMP/switchd" -procs 1 -listen "$SHADOW" -upstream "http://$BACKEND" -shadow "http://$SINK"
for a in "$PLAIN" "$SHADOW"; do
	for _ in $(seq 50); do curl -fsS -o /dev/null "http://$a/small" 2>/dev/null && break; sleep 0.1; done
done
for round in $(seq "$ROUNDS"); do
	for rate in 200 1000; do
		for t in plain shadow; do
			addr=$PLAIN; [ "$t" = shadow ] && addr=$SHADOW
			r=$("$TMP/load" -url "http://$addr/small" -rate "$rate" -d "$DURATION")
			echo "$r" >>"$TMP/lat.$rate.$t"
			echo "round $round $rate req/s $t: n p50us p99us failed = $r" >&2
		done
	done
	for t in plain shadow; do
		addr=$PLAIN; [ "$t" = shadow ] && addr=$SHADOW
		wrk -t1 -c32 -d2s "http://$addr/small" >/dev/null
		rps=$(wrk -t1 -c32 -d"$DURATION" "http://$addr/small" | awk '/^Requests\/sec/ {printf "%.0f", $2}')
		echo "$rps" >>"$TMP/rps.$t"
		echo "round $round wrk c32 $t: $rps req/s" >&2
	done
done
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "live latency, median of $ROUNDS rounds (us)"
printf "%-8s %10s %10s %10s %10s %10s %10s\n" "req/s" "plain p50" "shadow p50" "+p50" "plain p99" "shadow p99" "+p99"
for rate in 200 1000; do
	pp50=$(awk '{print $2}' "$TMP/lat.$rate.plain" | med); sp50=$(awk '{print $2}' "$TMP/lat.$rate.shadow" | med)
	pp99=$(awk '{print $3}' "$TMP/lat.$rate.plain" | med); sp99=$(awk '{print $3}' "$TMP/lat.$rate.shadow" | med)
	printf "%-8s %10s %10s %10s %10s %10s %10s\n" "$rate" "$pp50" "$sp50" "$((sp50 - pp50))" "$pp99" "$sp99" "$((sp99 - pp99))"
done
prps=$(med <"$TMP/rps.plain"); srps=$(med <"$TMP/rps.shadow")
echo
echo "wrk -t1 -c32, median of $ROUNDS rounds: plain $prps req/s, shadow $srps req/s, ratio $(awk -v a="$srps" -v b="$prps" 'BEGIN {printf "%.2f", a/b}')"
kill "${PIDS[3]}" 2>/dev/null || true
wait "${PIDS[3]}" 2>/dev/null || true
grep -h "switchd shadow" "$TMP/shadow.log" || true
