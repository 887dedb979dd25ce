package report

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestFindingsDecodeEveryShape: a detected event's findings arrive typed
// (written in this process), as generic JSON (read back from the store),
// or as a slice of maps (built by hand); all give the same rows, and junk
// reads as nothing rather than failing the report.
func TestFindingsDecodeEveryShape(t *testing.T) {
	typed := []detect.Finding{{Metric: "error_rate", Value: 0.5, Samples: 105, Limit: 0.2, Anomalous: true, Critical: true, Text: "x"},
		{Metric: "latency_p99_ms", Missing: true}, {Metric: "quality_score", TooFew: true, Samples: 3}}
	b, _ := json.Marshal(typed)
	var generic []any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	var maps []map[string]any
	json.Unmarshal(b, &maps)
	for name, v := range map[string]any{"typed": typed, "generic": generic, "maps": maps} {
		got := findings(v)
		if len(got) != 3 {
			t.Fatalf("%s: %d findings", name, len(got))
		}
		if got[0] != typed[0] || !got[1].Missing || !got[2].TooFew || got[2].Samples != 3 {
			t.Errorf("%s: %+v", name, got)
		}
	}
	for name, v := range map[string]any{"nil": nil, "string": "findings", "number": 3.0, "map": map[string]any{"metric": "x"}} {
		if got := findings(v); len(got) != 0 {
			t.Errorf("%s: %+v, want none", name, got)
		}
	}
	// Wrong field types read as zero; a missing value as NaN ("n/a").
	got := findings([]any{map[string]any{"metric": 7.0, "anomalous": "yes", "samples": "many", "limit": true}})
	if len(got) != 1 || got[0].Metric != "" || got[0].Anomalous || got[0].Samples != 0 || got[0].Limit != 0 || !math.IsNaN(got[0].Value) {
		t.Errorf("mistyped finding = %+v", got)
	}
}

func TestNumberReadsJSONShapes(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want float64
		ok   bool
	}{
		{1.5, 1.5, true}, {float32(2.5), 2.5, true}, {7, 7, true}, {int64(8_200_000), 8_200_000, true},
		{json.Number("12.5"), 12.5, true}, {json.Number("x"), 0, false},
		{"NaN", math.NaN(), true}, {"+Inf", math.Inf(1), true}, {"fast", math.NaN(), false},
		{nil, 0, false}, {true, 0, false},
	} {
		got, ok := number(tc.v)
		if ok != tc.ok || (got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want))) {
			t.Errorf("number(%#v) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

// TestVerificationSnapshot: typed and stored snapshots give the same rows
// in name order; a non-finite value the store wrote as a string reads
// "n/a", anything else not a number is dropped.
func TestVerificationSnapshot(t *testing.T) {
	typed := snapshotValues(map[string]float64{"samples": 3012, "error_rate": 0.0012})
	stored := snapshotValues(map[string]any{"samples": 3012.0, "error_rate": 0.0012, "p99": "+Inf", "note": true})
	if len(typed) != 2 || typed[0].Name != "error_rate" || typed[1].Name != "samples" {
		t.Errorf("typed = %+v", typed)
	}
	if len(stored) != 3 || stored[0] != typed[0] || stored[2] != typed[1] || stored[1].Name != "p99" || metricValue("p99", stored[1].V) != "n/a" {
		t.Errorf("stored = %+v", stored)
	}
	if got := snapshotValues("junk"); len(got) != 0 {
		t.Errorf("junk = %+v", got)
	}
	v := verification([]incident.Event{
		{Type: incident.EvVerified, At: at(time.Second), Message: "first"},
		{Type: incident.EvRollbackFailed, Message: "refused"},
		{Type: incident.EvVerified, At: at(2 * time.Second), Message: "second"},
		{Type: incident.EvEscalated, Message: "exhausted"},
	})
	if !v.Done || v.Message != "second" || !v.At.Equal(at(2*time.Second)) || len(v.Failures) != 2 {
		t.Errorf("verification = %+v, want the last verified and both failures", v)
	}
}

// TestMomentsAndWindowEdges: odd but possible timelines.
func TestMomentsAndWindowEdges(t *testing.T) {
	// No detected event: the first decision is when it was noticed.
	m := moments(nil, []store.Decision{{CreatedAt: at(time.Second)}, {CreatedAt: at(2 * time.Second)}})
	if !m.Detected.Equal(at(time.Second)) {
		t.Errorf("detected = %v, want the first decision", m.Detected)
	}
	// A negative or missing switch time is not printed as one.
	m = moments([]incident.Event{
		{Type: incident.EvRollbackDone, At: at(1), Data: map[string]any{"switch_ns": 5e6}},
		{Type: incident.EvRollbackDone, At: at(2), Data: map[string]any{"switch_ns": -1.0}},
	}, nil)
	if m.SwitchTook != 0 || !m.RollbackDone.Equal(at(2)) {
		t.Errorf("moments = %+v, want the last rollback with no switch time", m)
	}
	// A clock that went backwards cannot make a negative window.
	im := window(incident.Incident{FromVersion: "v2", ImpactStartedAt: at(time.Minute),
		Events: []incident.Event{{Type: incident.EvRollbackDone, At: at(0), Data: map[string]any{"from": "v2", "to": "v1"}}}}, at(time.Hour))
	if im.Duration != 0 || !im.End.Equal(im.Start) {
		t.Errorf("window = %+v, want an empty window, not a negative one", im)
	}
	// A detection after the last rollback reopens the window.
	im = window(incident.Incident{FromVersion: "v2", ImpactStartedAt: at(0), Events: []incident.Event{
		{Type: incident.EvRollbackDone, At: at(time.Second), Data: map[string]any{"from": "v2", "to": "v1"}},
		{Type: incident.EvDetected, At: at(5 * time.Second)},
	}}, at(time.Minute))
	if !im.Ongoing || !im.End.Equal(at(time.Minute)) || len(im.BadVersions) != 2 || im.BadVersions[1] != "v1" {
		t.Errorf("window = %+v, want open until now with v1 bad too", im)
	}
	// Without a clock, an ongoing window ends at the last event.
	im = window(incident.Incident{ImpactStartedAt: at(0), Events: []incident.Event{{At: at(9 * time.Second)}}}, time.Time{})
	if !im.End.Equal(at(9*time.Second)) || !im.Ongoing {
		t.Errorf("window = %+v, want ongoing until the last event", im)
	}
}

// TestImpactClampsBadCounts: error counts outside 0..requests (a broken
// exporter) are clamped, so the share is a share.
func TestImpactClampsBadCounts(t *testing.T) {
	im := Impact{Start: at(0), End: at(3 * time.Second), BadVersions: []string{"v2"}}
	measureImpact(&im, []store.MetricPoint{
		{Version: "v2", At: at(time.Second), Requests: 10, Errors: 50},
		{Version: "v2", At: at(2 * time.Second), Requests: 10, Errors: -5},
		{Version: "v2", At: at(3 * time.Second), Requests: -4, Errors: 1},
		{Version: "v1", At: at(time.Second), Requests: 1000, Errors: 1000},
	}, []Phase{{}})
	if im.Requests != 20 || im.Failed != 10 || im.ErrorShare != 0.5 {
		t.Errorf("impact = %d requests, %d failed, share %v; want 20, 10, 0.5", im.Requests, im.Failed, im.ErrorShare)
	}
	if im.HasBaseline {
		t.Error("a baseline without before-phase requests")
	}
}
