#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine, as root.
#
# Installs what the suite needs now or soon (Debian packages; Go tools from
# the module proxy), then runs go vet, vets the CLI for macOS and Windows,
# runs every Go test with the race detector, and the fuzz targets for a
# bounded time.
#
# Fail, don't skip: a test whose component (Prometheus, Alertmanager, the
# Kubernetes test cluster) is missing FAILS, with CI set or not. To skip on
# purpose, name the components:
#
#   RIPCORD_SKIP=kubernetes,prometheus,alertmanager bash scripts/test.sh
#
# The last lines say what was skipped and "N passed, N failed, N skipped".
#
# Installing never starts or stops a service: while apt runs, a temporary
# /usr/sbin/policy-rc.d (only if there is none) tells Debian's maintainer
# scripts not to start what they install, and it is removed afterwards. The
# script never stops, disables or kills anything it did not start.
#
# Usage: bash scripts/test.sh [go test args...]   (default: ./...)
# FUZZTIME (default: 170 s shared by all fuzz targets) bounds fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }
skipping() { [[ ",${RIPCORD_SKIP:-}," == *",$1,"* ]]; }

skip_list=${RIPCORD_SKIP:-}
for c in ${skip_list//,/ }; do
  case "$c" in kubernetes|prometheus|alertmanager|postgres|helm|chromium|axe|all) ;;
  *) echo "RIPCORD_SKIP: unknown component '$c' (use kubernetes, prometheus, alertmanager, postgres, helm, chromium, axe, all)" >&2; exit 2 ;;
  esac
done

# Debian packages: what the tests run for real (prometheus, alertmanager,
# gcc for -race, git), the benchmarks' peers (nginx, haproxy, wrk), and
# what the next suites need (chromium for browser tests, postgresql).
need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have prometheus || need_pkgs+=(prometheus)
have prometheus-alertmanager || need_pkgs+=(prometheus-alertmanager)
have gcc || need_pkgs+=(gcc)
[ -e /usr/include/stdio.h ] || need_pkgs+=(libc6-dev)
have git || need_pkgs+=(git)
have nginx || need_pkgs+=(nginx)
have haproxy || need_pkgs+=(haproxy)
have wrk || need_pkgs+=(wrk)
# chromium: the dashboard's browser tests (internal/web, chromedp).
have chromium || need_pkgs+=(chromium)
# curl: axe-core for the dashboard's accessibility audit, from the npm registry.
have curl || need_pkgs+=(curl ca-certificates)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need_pkgs+=(postgresql)
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  need_pkgs+=(golang-go ca-certificates)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need_pkgs[*]} — run as root, or install them first" >&2
    exit 1
  fi
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # 101 = "action not allowed": invoke-rc.d and deb-systemd-invoke then
    # leave the new services stopped. Ours only, removed however we exit.
    printf '#!/bin/sh\n# written by ripcord scripts/test.sh for the duration of apt-get\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  log "installing ${need_pkgs[*]} (services are not started)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  if grep -q 'written by ripcord scripts/test.sh' /usr/sbin/policy-rc.d 2>/dev/null; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
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
if skipping kubernetes || skipping all; then
  log "kubernetes: skipped (RIPCORD_SKIP)"
else
  log "kubernetes test binaries (cached)"
  bash scripts/k8s/cluster.sh build >/dev/null
fi

# helm, for the chart's lint/render/apply tests (deploy/helm/ripcord),
# built from the module proxy like every Go tool here (into $HOME/go/bin,
# on PATH above); a helm of this minor version already there is kept (a
# go-installed helm reports "v3.22", without the patch number).
HELM_VERSION=v3.22.0
if skipping helm || skipping all; then
  log "helm: skipped (RIPCORD_SKIP)"
elif ! helm version --template '{{.Version}}' 2>/dev/null | grep -q "^${HELM_VERSION%.*}"; then
  log "building helm $HELM_VERSION (go install, module proxy)"
  go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

# axe-core, the accessibility engine the dashboard's audit runs in chromium
# (internal/web TestAccessibility): the npm registry's tarball, checked
# against its published checksum, unpacked once into a cache.
AXE_VERSION=4.14.1
AXE_SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
axe_cache=/var/cache/ripcord/axe
mkdir -p "$axe_cache" 2>/dev/null && [ -w "$axe_cache" ] || axe_cache="$HOME/.cache/ripcord/axe"
export RIPCORD_AXE="$axe_cache/axe-core-$AXE_VERSION/axe.min.js"
if skipping axe || skipping all; then
  log "axe-core: skipped (RIPCORD_SKIP)"
elif [ ! -f "$RIPCORD_AXE" ]; then
  log "fetching axe-core $AXE_VERSION (npm registry)"
  tmp_axe=$(mktemp -d)
  curl -fsSL --retry 3 -o "$tmp_axe/axe.tgz" "https://registry.npmjs.org/axe-core/-/axe-core-$AXE_VERSION.tgz"
  echo "$AXE_SHA256  $tmp_axe/axe.tgz" | sha256sum -c --quiet -
  tar -xzf "$tmp_axe/axe.tgz" -C "$tmp_axe" package/axe.min.js
  mkdir -p "$(dirname "$RIPCORD_AXE")"
  mv "$tmp_axe/package/axe.min.js" "$RIPCORD_AXE"
  rm -rf "$tmp_axe"
fi

log "go vet"
go vet ./...
# Every platform a user runs the demo on. (windows/amd64 needs the switch's
# Linux-only fast path behind build tags.)
for target in darwin/arm64 windows/amd64; do
  log "go vet ./cmd/ripcord/... for $target"
  GOOS="${target%/*}" GOARCH="${target#*/}" go vet ./cmd/ripcord/...
done

log "go test -race ${pkgs[*]}"
status=0
go test -race -count=1 -timeout 30m -json "${pkgs[@]}" | go run ./scripts/testsum || status=$?

# Fuzz targets, each for its share of a budget of about 3 minutes (the
# proxy's scripts/fuzz.sh runs every target for FUZZTIME).
if [ -f scripts/fuzz.sh ]; then
  targets=$(grep -rhoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . | wc -l)
  if [ -z "${FUZZTIME:-}" ]; then
    per=$(( 170 / (targets > 0 ? targets : 1) ))
    export FUZZTIME="$(( per > 3 ? per : 3 ))s"
  fi
  log "fuzzing $targets target(s), FUZZTIME=$FUZZTIME each"
  bash scripts/fuzz.sh || status=1
fi
exit "$status"
