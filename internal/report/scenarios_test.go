package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// chain is v3 → v2 (bad too) → v1: both rolled-back-from versions are bad,
// and impact ends with the second rollback.
func chain(t *testing.T) Input {
	ev := func(ms int, typ string, data map[string]any) incident.Event {
		return incident.Event{At: at(time.Duration(ms) * time.Millisecond), Type: typ, Actor: "ripcord", Message: typ, Data: data}
	}
	in := Input{
		Incident: storeRoundTrip(t, incident.Incident{ID: "INC-0007", Service: "api", Kind: incident.KindRollback,
			FromVersion: "v3", ToVersion: "v1", ImpactStartedAt: at(0), Events: []incident.Event{
				ev(400, incident.EvDetected, nil),
				ev(410, incident.EvRollbackDone, map[string]any{"from": "v3", "to": "v2", "switch_ns": 5e6}),
				ev(2400, incident.EvDetected, nil),
				ev(2410, incident.EvRollbackDone, map[string]any{"from": "v2", "to": "v1", "switch_ns": 6e6}),
			}}),
		GeneratedAt: at(time.Minute),
	}
	// One point per second: v3 until the first rollback, v2 until the second.
	for i, v := range []string{"v3", "v2", "v2", "v1", "v1"} {
		in.Metrics = append(in.Metrics, store.MetricPoint{Service: "api", Version: v, At: at(time.Duration(i+1) * time.Second),
			Requests: 100, Errors: 40, P50Ms: 50, P99Ms: 500})
	}
	return in
}

func TestFallbackChain(t *testing.T) {
	r := Build(chain(t))
	im := r.Impact
	if !slices.Equal(im.BadVersions, []string{"v3", "v2"}) {
		t.Errorf("bad versions = %v, want [v3 v2]", im.BadVersions)
	}
	if !im.End.Equal(at(2410*time.Millisecond)) || im.EndedBy != "rollback done" {
		t.Errorf("impact ends %s by %q, want the second rollback", im.End, im.EndedBy)
	}
	// v3 at T+1s, v2 at T+2s and T+3s (its second overlaps the window end).
	if im.Requests != 300 || im.Failed != 120 {
		t.Errorf("bad requests/failed = %d/%d, want 300/120", im.Requests, im.Failed)
	}
	if len(r.Checks) != 2 || r.Checks[0].Version != "v3" || r.Checks[1].Version != "v2" {
		t.Errorf("checks name versions %+v, want v3 then v2", r.Checks)
	}
	if n := len(r.Markers); n != 4 {
		t.Errorf("%d markers, want impact start, detected and two rollbacks", n)
	}
	renderAll(t, chain(t))
}

func TestExhaustedChainStaysOpen(t *testing.T) {
	in := chain(t)
	evs := in.Incident.Events[:3] // the fallback target was found bad, nothing left
	in.Incident.Events = append(evs, incident.Event{At: at(2500 * time.Millisecond), Type: incident.EvEscalated, Actor: "ripcord", Message: "fallback chain exhausted"})
	r := Build(in)
	if !r.Impact.Ongoing || !r.Impact.End.Equal(in.GeneratedAt) {
		t.Errorf("impact = %+v, want open until GeneratedAt: v2 still serves", r.Impact)
	}
	if len(r.Verification.Failures) != 1 {
		t.Errorf("verification failures = %v, want the escalation", r.Verification.Failures)
	}
}

func TestManualRollback(t *testing.T) {
	in := fixture(t)
	in.Incident.Kind = incident.KindManual
	in.Incident.Reason = "customers report blank carts"
	in.Incident.Events = slices.DeleteFunc(in.Incident.Events, func(ev incident.Event) bool { return ev.Type == incident.EvDetected })
	in.Incident.Events = append([]incident.Event{{At: at(350 * time.Millisecond), Type: incident.EvDecision, Actor: "carol", Message: "customers report blank carts"}}, in.Incident.Events...)
	r := Build(in)
	if !strings.Contains(r.Summary, "rolled back by hand by carol: customers report blank carts") {
		t.Errorf("summary = %q", r.Summary)
	}
	if r.Markers[1].Label != "decision" {
		t.Errorf("marker = %q, want decision: no detector was involved", r.Markers[1].Label)
	}
	md, _ := renderAll(t, in)
	if !strings.Contains(md, "No detection was recorded") {
		t.Error("a manual incident must say the detector did not open it")
	}
}
