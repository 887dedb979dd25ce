#!/usr/bin/env bash
# Proxy benchmark: the ripcord switch against nginx (1 worker, keepalive
# upstream) and HAProxy (1 thread), all in front of the same Go backend, on
# loopback only. Prints one table: req/s, p50, p99 per target, ratios of
# req/s versus nginx and HAProxy, and latency added over hitting the backend
# directly.
#
#   bench/proxy/run.sh                 # 10 s per run
#   DURATION=3s bench/proxy/run.sh     # shorter runs
#   SCENARIOS="c32-small" TARGETS="nginx ripcord" bench/proxy/run.sh
#   ROUNDS=3 bench/proxy/run.sh        # median of 3 interleaved rounds (noisy machines)
#   BASELINE=main ROUNDS=3 bench/proxy/run.sh   # before/after in one run
#
# Environment: DURATION (10s), WARMUP (2s), ROUNDS (1), PORT_BASE (18080),
# SCENARIOS (c32-small c256-small c32-16k),
# TARGETS (direct nginx haproxy ripcord ripcord-p2), BASELINE (none).
#
# BASELINE=<git ref> also builds the switch from that ref (git archive into
# the temp dir; the checkout is untouched) and runs it as "ripcord-base"
# (GOMAXPROCS=1, next to "ripcord") in every round, interleaved with the
# others, so a change is measured against its baseline under the same load.
# Each cell is the median round; "spread" is (max - min) / median req/s over
# the rounds, the noise a difference has to beat.
#
# "ripcord" runs the switch with GOMAXPROCS=1, like-for-like with nginx's one
# worker and HAProxy's one thread; "ripcord-p2" with Go's default (one P per
# core). On a 2-core machine shared with wrk and the backend, one P is also
# the faster setting: no cross-thread wake-ups per request.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-1}
PORT_BASE=${PORT_BASE:-18080}
SCENARIOS=${SCENARIOS:-"c32-small c256-small c32-16k"}
TARGETS=${TARGETS:-"direct nginx haproxy ripcord ripcord-p2"}
BASELINE=${BASELINE:-}
if [ -n "$BASELINE" ] && [[ " $TARGETS " != *" ripcord-base "* ]]; then
	TARGETS=${TARGETS/ripcord /ripcord ripcord-base }
	[[ " $TARGETS " == *" ripcord-base "* ]] || TARGETS="$TARGETS ripcord-base"
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/ripcord-proxybench.XXXXXX)
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]} from Debian" >&2
	[ -n "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ] || apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
export PATH=$PATH:/usr/sbin

BACKEND=127.0.0.1:$((PORT_BASE + 1))
NGINX=127.0.0.1:$((PORT_BASE + 2))
HAPROXY=127.0.0.1:$((PORT_BASE + 3))
RIPCORD=127.0.0.1:$((PORT_BASE + 4))
RIPCORD2=127.0.0.1:$((PORT_BASE + 5))
RIPCORDB=127.0.0.1:$((PORT_BASE + 6))

# shellcheck source=bench/proxy/lib.sh
. "$ROOT/bench/proxy/lib.sh"
echo "building backend and switchd" >&2
(cd "$ROOT" && go build -o "$TMP/backend" ./bench/proxy/backend)
build_switchd "$TMP"
[ -z "$BASELINE" ] || build_switchd "$TMP/base" "$BASELINE"

start() { # name, command...
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
}

mkdir -p "$TMP/nginx"
cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
user root;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	upstream backend {
		server $BACKEND;
		keepalive 256;
	}
	server {
		listen $NGINX;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
		}
	}
}
EOF

cat >"$TMP/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 8000
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	option http-keep-alive
	option forwardfor
frontend fe
	bind $HAPROXY
	default_backend be
backend be
	http-reuse always
	server s1 $BACKEND
EOF

start backend "$TMP/backend" -addr "$BACKEND"
start nginx nginx -c "$TMP/nginx.conf" -p "$TMP/nginx"
start haproxy haproxy -db -f "$TMP/haproxy.cfg"
start ripcord "$TMP/switchd" -procs 1 -listen "$RIPCORD" -upstream "http://$BACKEND"
start ripcord-p2 "$TMP/switchd" -listen "$RIPCORD2" -upstream "http://$BACKEND"
[ -z "$BASELINE" ] || start ripcord-base "$TMP/base/switchd" -procs 1 -listen "$RIPCORDB" -upstream "http://$BACKEND"

addr_of() {
	case $1 in
	direct) echo "$BACKEND" ;;
	nginx) echo "$NGINX" ;;
	haproxy) echo "$HAPROXY" ;;
	ripcord) echo "$RIPCORD" ;;
	ripcord-p2) echo "$RIPCORD2" ;;
	ripcord-base) echo "$RIPCORDB" ;;
	esac
}

for t in $TARGETS; do
	for _ in $(seq 50); do
		curl -fsS -o /dev/null "http://$(addr_of "$t")/small" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsS -o /dev/null "http://$(addr_of "$t")/small" || { echo "$t did not come up; logs in $TMP" >&2; cat "$TMP"/*.log >&2; exit 1; }
done

# to_us converts a wrk latency ("123.45us", "1.20ms", "2.00s") to microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000; else if (u == "m") n *= 60000000
		printf "%.0f", n }'
}

run_one() { # scenario target round
	local sc=$1 t=$2 conns path url out
	conns=${sc%%-*}
	conns=${conns#c}
	path=/small
	[ "${sc#*-}" = 16k ] && path=/16k
	url="http://$(addr_of "$t")$path"
	wrk -t1 -c"$conns" -d"$WARMUP" "$url" >/dev/null
	out=$(wrk -t1 -c"$conns" -d"$DURATION" --latency "$url")
	if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
		echo "warning: $sc $t: $(echo "$out" | grep "Non-2xx\|Socket errors")" >&2
	fi
	local rps p50 p99
	rps=$(echo "$out" | awk '/^Requests\/sec/ {printf "%.0f", $2}')
	p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
	p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
	echo "$rps $p50 $p99" >>"$TMP/res.$sc.$t"
	echo "round $3 $sc $t: $rps req/s p50 ${p50}us p99 ${p99}us" >&2
}

# Rounds interleave the targets, so a burst of load from elsewhere on the
# machine hits them alike; each cell is the round with the median req/s.
for round in $(seq "$ROUNDS"); do
	for sc in $SCENARIOS; do
		for t in $TARGETS; do
			run_one "$sc" "$t" "$round"
		done
	done
done

declare -A RPS P50 P99 SPREAD
for sc in $SCENARIOS; do
	for t in $TARGETS; do
		read -r RPS[$sc,$t] P50[$sc,$t] P99[$sc,$t] < <(sort -n "$TMP/res.$sc.$t" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')
		SPREAD[$sc,$t]=$(sort -n "$TMP/res.$sc.$t" | awk '{r[NR]=$1} END {m=r[int((NR+1)/2)]; if (m > 0) printf "%.1f%%", 100*(r[NR]-r[1])/m; else printf "-"}')
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else printf "-" }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "") printf "%+d", a - b; else printf "-" }'; }

echo
echo "wrk -t1, $DURATION per run, median of $ROUNDS round(s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
printf "%-11s %-12s %9s %8s %8s %9s %9s %9s %9s %7s\n" scenario target "req/s" "p50(us)" "p99(us)" "x nginx" "x haproxy" "+p50(us)" "+p99(us)" spread
for sc in $SCENARIOS; do
	for t in $TARGETS; do
		printf "%-11s %-12s %9s %8s %8s %9s %9s %9s %9s %7s\n" "$sc" "$t" "${RPS[$sc,$t]}" "${P50[$sc,$t]}" "${P99[$sc,$t]}" \
			"$(ratio "${RPS[$sc,$t]}" "${RPS[$sc,nginx]:-}")" "$(ratio "${RPS[$sc,$t]}" "${RPS[$sc,haproxy]:-}")" \
			"$(added "${P50[$sc,$t]}" "${P50[$sc,direct]:-}")" "$(added "${P99[$sc,$t]}" "${P99[$sc,direct]:-}")" "${SPREAD[$sc,$t]}"
	done
done
if [ -n "$BASELINE" ]; then
	echo
	echo "ripcord vs ripcord-base ($BASELINE): req/s ratio, p99 ratio (spread of each over the rounds)"
	for sc in $SCENARIOS; do
		printf "%-11s %6s x req/s  %6s x p99   (spread %s / %s)\n" "$sc" "$(ratio "${RPS[$sc,ripcord]}" "${RPS[$sc,ripcord-base]}")" \
			"$(ratio "${P99[$sc,ripcord]}" "${P99[$sc,ripcord-base]}")" "${SPREAD[$sc,ripcord]}" "${SPREAD[$sc,ripcord-base]}"
	done
fi
