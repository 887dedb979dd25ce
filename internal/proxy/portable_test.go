package proxy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestPortableBuildSelected runs in the child process of
// TestDemoWithPortableFallback: under -tags ripcord_portable the fast path
// must use the fallback, not the Linux syscalls.
func TestPortableBuildSelected(t *testing.T) {
	want := os.Getenv("RIPCORD_WANT_PORTABLE")
	if want == "" {
		return // run by TestDemoWithPortableFallback
	}
	if rawSyscalls != (want == "0") {
		t.Fatalf("rawSyscalls = %v, want portable=%s", rawSyscalls, want)
	}
}

// TestDemoWithPortableFallback proves the portable fallback (what Windows,
// macOS and -tags ripcord_portable get) works: the switch's own tests that
// exercise the fast path pass with it, and the demo built with it rolls a
// bad version back.
func TestDemoWithPortableFallback(t *testing.T) {
	if os.Getenv("RIPCORD_WANT_PORTABLE") != "" {
		return // the child: only TestPortableBuildSelected matters there
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "test", "-count=1", "-tags", "ripcord_portable",
		"-run", "^(TestPortableBuildSelected|TestProxyBasics|TestFastPath.*|TestLateSecondResponse|TestBodylessAnswerFramedForABody|TestStalledBodyReleased|TestSwitchUnderLoad)$", ".")
	cmd.Env = append(os.Environ(), "RIPCORD_WANT_PORTABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -tags ripcord_portable: %v\n%s", err, out)
	}

	bin := filepath.Join(t.TempDir(), "ripcord")
	build := exec.Command(goBin, "build", "-tags", "ripcord_portable", "-o", bin, "./cmd/ripcord")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags ripcord_portable: %v\n%s", err, out)
	}
	demo := exec.Command(bin, "demo", "--fault", "error", "--warmup", "500ms", "--watch", "2s", "--json")
	var stderr bytes.Buffer
	demo.Stderr = &stderr
	out, err := demo.Output()
	if err != nil {
		t.Fatalf("demo with the portable fallback: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res struct {
		RolledBack    bool  `json:"rolled_back"`
		TotalRequests int64 `json:"total_requests"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || !res.RolledBack || res.TotalRequests < 300 {
		t.Fatalf("demo result %q (%v)", lines[len(lines)-1], err)
	}
}
