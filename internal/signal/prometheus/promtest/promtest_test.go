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

func requireWithout(t *testing.T, ci string) *recordingTB {
	t.Setenv("CI", ci)
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

func TestRequireFailsInCIWhenBinaryMissing(t *testing.T) {
	rec := requireWithout(t, "true")
	if rec.fatal == "" || rec.skip != "" || !strings.Contains(rec.fatal, "CI=true") {
		t.Errorf("CI=true: fatal=%q skip=%q, want a failure", rec.fatal, rec.skip)
	}
}

func TestRequireSkipsOutsideCIWhenBinaryMissing(t *testing.T) {
	rec := requireWithout(t, "")
	if rec.skip == "" || rec.fatal != "" || !strings.Contains(rec.skip, "apt-get install -y prometheus") {
		t.Errorf("no CI: fatal=%q skip=%q, want a skip", rec.fatal, rec.skip)
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
