package e2e

import (
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/incident"
)

// TestMissingSignalsAreBlindNotBad: an evaluation pipeline that stops
// pushing must never cause a rollback; it opens a "flying blind" incident
// after the grace period, which resolves itself when data returns.
func TestMissingSignalsAreBlindNotBad(t *testing.T) {
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	stop := e.load(200)
	defer stop()
	e.deploy(newBackend(t, "v2"))
	push := func(q float64) {
		t.Helper()
		if err := e.client.PushSignals(t.Context(), "svc", api.SignalsRequest{Version: "v2", Samples: 1000, // enough to show 0.1% toxicity below 1%
			Values: map[string]float64{"quality_score": q, "toxic_output_rate": 0.001}}); err != nil {
			t.Fatal(err)
		}
	}
	// The pipeline pushes as a real one does until v2 is shown healthy:
	// the switch's latency counts need ~450 answers (2.3 s here) to show a
	// p99 within its bound, longer than one push stays in the 2 s window.
	var pushed time.Time
	e.waitFor("healthy with pushed quality", 10*time.Second, func(s statusT) bool {
		if time.Since(pushed) > 500*time.Millisecond {
			push(0.9)
			pushed = time.Now()
		}
		return s.Verdict == "healthy"
	})
	// The pipeline goes quiet; its last point ages out of the 2 s window.
	s := e.waitFor("blind verdict", 6*time.Second, func(s statusT) bool { return s.Verdict == "blind" })
	if s.Active != "v2" {
		t.Fatalf("reverted on missing data: %+v", s)
	}
	blind := e.waitIncident("a blind incident", 5*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindBlind })
	if blind.Severity != incident.Minor {
		t.Fatalf("no minor blind incident: %+v", e.incidents())
	}
	push(0.9)
	e.waitFor("data back", 5*time.Second, func(s statusT) bool { return s.Verdict == "healthy" })
	if got := e.incident(blind.ID); got.Status != incident.Resolved || !hasEvent(got, incident.EvDataReturned) {
		t.Fatalf("blind incident not resolved when data returned: %s", got.Status)
	}
	for _, i := range e.incidents() {
		if i.Kind != incident.KindBlind {
			t.Fatalf("unexpected incident %+v", i)
		}
	}
	if s := e.status(); s.Active != "v2" {
		t.Fatalf("active %s after a blind period, want v2", s.Active)
	}
}
