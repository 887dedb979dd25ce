#!/usr/bin/env bash
# A local Kubernetes control plane for ripcord's Kubernetes tests: kwok
# (fake nodes and pods) driven by kwokctl's "binary" runtime, with every
# binary built from source through the Go module proxy and cached.
#
# Usage:
#   cluster.sh build          build (once) and cache every binary; prints the bin dir
#   cluster.sh up NAME        create (or reuse) cluster NAME with one fake node;
#                             prints the kubeconfig path on stdout
#   cluster.sh down NAME      delete cluster NAME (no error when it does not exist)
#   cluster.sh kubeconfig NAME  print the kubeconfig path of a running cluster
#   cluster.sh bin            print the directory holding kubectl, kwokctl, ...
#
# Cache: ${RIPCORD_K8S_CACHE:-/var/cache/ripcord/k8s}/<component>-<version>/,
# one directory per component version (kubernetes-v1.37.2, etcd-v3.7.0,
# kwok-v0.8.0), filled atomically (built into a temporary directory, then
# renamed), under an flock so concurrent callers build once. A first build
# took 21 minutes on 2 shared cores (kube-apiserver alone 12), 40 s with a
# warm Go build cache; later calls return at once. A cluster starts in ~5 s.
#
# Needs: Go (the version go.mod names) and the Go module proxy. Nothing is
# downloaded by kwokctl: every binary path is passed explicitly.
set -euo pipefail

K8S_VERSION="${RIPCORD_K8S_VERSION:-v1.37.2}"
KWOK_VERSION="${RIPCORD_KWOK_VERSION:-v0.8.0}"
CACHE="${RIPCORD_K8S_CACHE:-/var/cache/ripcord/k8s}"
WORKDIR="${RIPCORD_K8S_WORKDIR:-$CACHE/work}"

K8S_DIR="$CACHE/kubernetes-$K8S_VERSION"
KWOK_DIR="$CACHE/kwok-$KWOK_VERSION"
BIN_DIR="$CACHE/bin-$K8S_VERSION-kwok-$KWOK_VERSION"

export PATH="/usr/local/go/bin:$PATH"
export GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

CLEANUP=()
cleanup() { [ ${#CLEANUP[@]} -eq 0 ] || rm -rf "${CLEANUP[@]}"; }
trap cleanup EXIT

log() { printf '==> cluster.sh: %s\n' "$*" >&2; }
die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }

# k8s_gomod writes a temporary module that builds the kubernetes commands:
# k8s.io/kubernetes replaces its staging modules with local paths, which a
# dependent module cannot follow, so each is replaced with the published
# v0.x release matching v1.x.
k8s_gomod() {
  local dir="$1" mod staging
  mod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$mod" ] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"
  staging="v0.${K8S_VERSION#v1.}"
  {
    echo "module ripcord.local/k8sbin"
    echo
    echo "go $(sed -n 's/^go \(.*\)/\1/p' "$mod")"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "tool ("
    printf '\t%s\n' k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl go.etcd.io/etcd/server/v3
    echo ")"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$staging"'#p' "$mod"
    echo ")"
  } >"$dir/go.mod"
}

version_ldflags() {
  local minor="${K8S_VERSION#v1.}" p out="-s -w"
  minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    out+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$out"
}

build_kubernetes() {
  [ -x "$K8S_DIR/kube-apiserver" ] && [ -x "$K8S_DIR/etcd" ] && return 0
  local tmp out pkg start
  tmp="$(mktemp -d "$CACHE/.src.XXXXXX")"
  out="$(mktemp -d "$CACHE/.out.XXXXXX")"
  CLEANUP+=("$tmp" "$out")
  k8s_gomod "$tmp"
  log "resolving k8s.io/kubernetes $K8S_VERSION dependencies"
  (cd "$tmp" && go mod tidy >&2)
  for pkg in go.etcd.io/etcd/server/v3 k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl; do
    local name="${pkg##*/}"
    [ "$name" = v3 ] && name=etcd
    start=$SECONDS
    log "building $name (one binary at a time)"
    (cd "$tmp" && go build -trimpath -ldflags="$(version_ldflags)" -o "$out/$name" "$pkg")
    log "built $name in $((SECONDS - start))s"
  done
  chmod 755 "$out"
  rm -rf "$K8S_DIR"
  mv "$out" "$K8S_DIR"
}

build_kwok() {
  [ -x "$KWOK_DIR/kwokctl" ] && [ -x "$KWOK_DIR/kwok" ] && return 0
  local out cmd start
  out="$(mktemp -d "$CACHE/.out.XXXXXX")"
  CLEANUP+=("$out")
  for cmd in kwokctl kwok; do
    start=$SECONDS
    log "building $cmd $KWOK_VERSION"
    GOBIN="$out" go install -trimpath \
      -ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
      "sigs.k8s.io/kwok/cmd/$cmd@$KWOK_VERSION"
    log "built $cmd in $((SECONDS - start))s"
  done
  chmod 755 "$out"
  rm -rf "$KWOK_DIR"
  mv "$out" "$KWOK_DIR"
}

cmd_build() {
  mkdir -p "$CACHE"
  command -v go >/dev/null || die "go is not installed"
  command -v flock >/dev/null || die "flock (util-linux) is not installed"
  (
    flock 9
    local start=$SECONDS
    build_kwok
    build_kubernetes
    mkdir -p "$BIN_DIR"
    local f
    for f in "$K8S_DIR"/* "$KWOK_DIR"/*; do ln -sfn "$f" "$BIN_DIR/${f##*/}"; done
    [ $((SECONDS - start)) -gt 1 ] && log "binaries ready in $((SECONDS - start))s"
    true
  ) 9>"$CACHE/.lock"
  echo "$BIN_DIR"
}

kwokctl_env() {
  export KWOK_WORKDIR="$WORKDIR"
  export KWOK_KUBE_VERSION="$K8S_VERSION"
  export KWOK_KUBECTL_BINARY="$BIN_DIR/kubectl"
}

cluster_exists() { "$BIN_DIR/kwokctl" get clusters 2>/dev/null | grep -qx "$1"; }
kubeconfig_path() { echo "$WORKDIR/clusters/$1/kubeconfig.yaml"; }

cluster_ready() {
  local kc
  kc="$(kubeconfig_path "$1")"
  [ -f "$kc" ] && "$BIN_DIR/kubectl" --kubeconfig "$kc" --request-timeout=5s get --raw /readyz >/dev/null 2>&1
}

# ensure_node creates the fake node pods are scheduled to; kwok's default
# stages make its pods Running and Ready.
ensure_node() {
  local kc
  kc="$(kubeconfig_path "$1")"
  "$BIN_DIR/kubectl" --kubeconfig "$kc" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
spec:
  taints: []
status:
  allocatable: {cpu: "1000", memory: 4000Gi, pods: "5000"}
  capacity: {cpu: "1000", memory: 4000Gi, pods: "5000"}
EOF
  "$BIN_DIR/kubectl" --kubeconfig "$kc" wait --for=condition=Ready node/kwok-node-0 --timeout=60s >/dev/null
}

cmd_up() {
  local name="${1:?usage: cluster.sh up NAME}"
  cmd_build >/dev/null
  kwokctl_env
  mkdir -p "$WORKDIR"
  (
    flock 9
    if cluster_exists "$name" && ! cluster_ready "$name"; then
      log "cluster $name exists but is not serving: starting it"
      "$BIN_DIR/kwokctl" start cluster --name "$name" --wait 60s >&2 9>&- || true
    fi
    if cluster_exists "$name" && ! cluster_ready "$name"; then
      log "cluster $name is broken: recreating it"
      "$BIN_DIR/kwokctl" delete cluster --name "$name" >&2 || true
    fi
    if ! cluster_exists "$name"; then
      log "creating cluster $name"
      # Every component listens on loopback only (kwokctl's default is
      # 0.0.0.0, which would expose an unauthenticated etcd).
      cat >"$WORKDIR/kwokctl-$name.yaml" <<'EOF2'
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  bindAddress: 127.0.0.1
EOF2
      "$BIN_DIR/kwokctl" --config "$WORKDIR/kwokctl-$name.yaml" create cluster --name "$name" --runtime binary \
        --kubeconfig "" --kube-authorization=true --wait 120s \
        --etcd-binary "$BIN_DIR/etcd" \
        --kube-apiserver-binary "$BIN_DIR/kube-apiserver" \
        --kube-controller-manager-binary "$BIN_DIR/kube-controller-manager" \
        --kube-scheduler-binary "$BIN_DIR/kube-scheduler" \
        --kwok-controller-binary "$BIN_DIR/kwok" >&2 9>&-
    fi
    cluster_ready "$name" || die "cluster $name did not become ready"
    ensure_node "$name"
  ) 9>"$WORKDIR/.lock-$name"
  kubeconfig_path "$name"
}

cmd_down() {
  local name="${1:?usage: cluster.sh down NAME}"
  [ -x "$BIN_DIR/kwokctl" ] || exit 0
  kwokctl_env
  if cluster_exists "$name"; then
    log "deleting cluster $name"
    "$BIN_DIR/kwokctl" delete cluster --name "$name" >&2
  fi
  rm -f "$WORKDIR/.lock-$name" "$WORKDIR/kwokctl-$name.yaml"
}

case "${1:-}" in
build) cmd_build ;;
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
kubeconfig) kwokctl_env; cluster_ready "${2:?usage: cluster.sh kubeconfig NAME}" || die "cluster $2 is not running"; kubeconfig_path "$2" ;;
bin) echo "$BIN_DIR" ;;
*) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
