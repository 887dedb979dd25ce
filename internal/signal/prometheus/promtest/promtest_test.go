package promtest

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// recordingTB stands in for the test Require ends, so its choice between
// Fatal and Skip can be checked.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }
func (r *recordingTB) Skipf(format string, args ...any)  { r.Skip(fmt.Sprintf(format, args...)) }

// requireWithout calls Require with no Prometheus anywhere, CI unset (as on
// a developer's machine) and RIPCORD_SKIP set to skip.
func requireWithout(t *testing.T, skip string) *recordingTB {
	t.Setenv("CI", "")
	t.Setenv("RIPCORD_SKIP", skip)
	t.Setenv("RIPCORD_PROMETHEUS", "")
	t.Setenv("PATH", t.TempDir())
	old := defaultBinary
	defaultBinary = "/nonexistent/prometheus"
	t.Cleanup(func() { defaultBinary = old })
	rec := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Require(rec)
	}()
	<-done
	return rec
}

// TestRequireFailsWhenBinaryMissing: fail, don't skip — with CI or without.
func TestRequireFailsWhenBinaryMissing(t *testing.T) {
	rec := requireWithout(t, "")
	if rec.fatal == "" || rec.skip != "" || !strings.Contains(rec.fatal, "RIPCORD_SKIP=prometheus") {
		t.Errorf("fatal=%q skip=%q, want a failure naming the opt-out", rec.fatal, rec.skip)
	}
}

func TestRequireSkipsOnlyWhenOptedOut(t *testing.T) {
	rec := requireWithout(t, "kubernetes,prometheus")
	if rec.skip == "" || rec.fatal != "" || !strings.Contains(rec.skip, "apt-get install -y prometheus") {
		t.Errorf("RIPCORD_SKIP=prometheus: fatal=%q skip=%q, want a skip", rec.fatal, rec.skip)
	}
}

func TestStartAndStop(t *testing.T) {
	s := StartPrometheus(t, nil, time.Second)
	resp, err := http.Get(s.URL + "/-/healthy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthy: %s", resp.Status)
	}
	s.Stop()
	s.Kill() // a second stop is harmless
	if _, err := http.Get(s.URL + "/-/healthy"); err == nil {
		t.Error("server still answers after Stop")
	}
}
