#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine, as root.
#
# Installs what the tests need (Debian packages; Go tools from the module
# proxy), then runs every Go test with the race detector. Tests that need an
# external component (Prometheus, Alertmanager, ...) fail instead of skipping
# when CI=true and the component is missing, so a green run means they ran.
#
# Usage: bash scripts/test.sh [go test args...]   (default: ./...)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# Debian packages the tests run for real.
need_pkgs=()
command -v prometheus >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_pkgs+=(prometheus-alertmanager)
command -v gcc >/dev/null 2>&1 || need_pkgs+=(gcc libc6-dev)   # -race needs cgo
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  need_pkgs+=(golang-go ca-certificates)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need_pkgs[*]} — run as root, or install them first" >&2
    exit 1
  fi
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # The Debian package starts a system service we do not want holding ports.
  systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
  pkill -x prometheus 2>/dev/null || true
  pkill -x prometheus-alertmanager 2>/dev/null || true
  pkill -x prometheus-node-exporter 2>/dev/null || true
fi

export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
# An older Go from Debian fetches the toolchain go.mod asks for from the
# module proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
log "$(go version)"

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

# The Kubernetes tests run a real control plane (kube-apiserver,
# controller-manager, scheduler, etcd) with kwok's fake nodes, built from
# source through the module proxy and cached under /var/cache/ripcord/k8s.
# Build it before the tests so the first (≈20 min on 2 cores) build does not
# eat into go test's timeout; later runs find it cached at once.
log "kubernetes test binaries (cached)"
bash scripts/k8s/cluster.sh build >/dev/null

log "go vet"
go vet ./...
log "go test -race ${pkgs[*]}"
go test -race -count=1 -timeout 30m "${pkgs[@]}"
