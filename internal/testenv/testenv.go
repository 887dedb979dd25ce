package testenv

import (
	"os"
	"strings"
	"testing"
)

// Components that RIPCORD_SKIP may name.
const (
	Kubernetes   = "kubernetes"
	Prometheus   = "prometheus"
	Alertmanager = "alertmanager"
	Postgres     = "postgres"
	Helm         = "helm"
	// Chromium is Debian's chromium, driven by chromedp in the dashboard's
	// browser tests.
	Chromium = "chromium"
	// Axe is axe-core, the accessibility engine the dashboard's audit runs
	// in chromium; scripts/test.sh fetches it to AxePath.
	Axe = "axe"
)

// AxePath is where scripts/test.sh puts axe-core (RIPCORD_AXE overrides).
const AxePath = "/var/cache/ripcord/axe/axe-core-4.14.1/axe.min.js"

// SkipMarker starts every skip message from this package.
const SkipMarker = "ripcord-skip:"

// Skipped reports whether RIPCORD_SKIP opts out of component.
func Skipped(component string) bool {
	for _, c := range strings.Split(os.Getenv("RIPCORD_SKIP"), ",") {
		if strings.EqualFold(strings.TrimSpace(c), component) || strings.TrimSpace(c) == "all" {
			return true
		}
	}
	return false
}

// Missing ends a test whose component is unavailable: Skip when
// RIPCORD_SKIP names it, Fatal otherwise, with why and how to fix it.
func Missing(t testing.TB, component, why string) {
	t.Helper()
	if Skipped(component) {
		t.Skipf("%s %s (RIPCORD_SKIP=%s): %s", SkipMarker, component, os.Getenv("RIPCORD_SKIP"), why)
	}
	t.Fatalf("%s: %s — install it (bash scripts/test.sh does), or opt out with RIPCORD_SKIP=%s", component, why, component)
}

// SkipIfOptedOut skips a test of component when RIPCORD_SKIP names it,
// before it tries to start anything.
func SkipIfOptedOut(t testing.TB, component string) {
	t.Helper()
	if Skipped(component) {
		t.Skipf("%s %s (RIPCORD_SKIP=%s)", SkipMarker, component, os.Getenv("RIPCORD_SKIP"))
	}
}

// Measurement skips a benchmark-like test unless RIPCORD_BENCH=1: it loads
// the machine for a while and reports figures rather than checking them.
func Measurement(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("RIPCORD_BENCH") != "1" {
		t.Skipf("%s measurement (set RIPCORD_BENCH=1): %s", SkipMarker, what)
	}
}

// Heavy skips a slow test under go test -short.
func Heavy(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s -short: %s", SkipMarker, what)
	}
}
