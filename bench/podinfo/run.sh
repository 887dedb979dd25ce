#!/usr/bin/env bash
# podinfo (built from the Go module proxy) as v1 and v2 behind `ripcord
# serve`, open-loop load, v2 deployed through the API: error, latency and
# 12 s faults under the default policy and require: 1, and a healthy v2
# watched for HEALTHY (default 10m) that must not be rolled back.
#   RUNS=5 RATE=200 HEALTHY=10m bash bench/podinfo/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5} RATE=${RATE:-200} HEALTHY=${HEALTHY:-10m}
PODINFO_VERSION=${PODINFO_VERSION:-v6.9.2}
tmp=$(mktemp -d /tmp/ripcord-podinfo.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install "github.com/stefanprodan/podinfo/cmd/podinfo@$PODINFO_VERSION"
go build -o "$tmp/ripcord" ./cmd/ripcord
go build -o "$tmp/bench" ./bench/podinfo
b() { "$tmp/bench" -podinfo "$tmp/podinfo" -ripcord "$tmp/ripcord" -runs "$RUNS" -rate "$RATE" "$@"; }
b -scenario error -policy default -watch 40s
b -scenario error -policy require1
b -scenario latency -policy default -watch 40s
b -scenario latency -policy require1
b -scenario latency -policy baseline
b -scenario slow12 -policy default -watch 40s
b -scenario healthy -policy default -runs 1 -watch "$HEALTHY"
