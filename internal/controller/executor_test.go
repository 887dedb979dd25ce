package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/store"
)

// TestUnrecordedDecisionStillReverts: users come first. A decision the
// store refuses is carried out anyway, and the timeline says it could not
// be recorded.
func TestUnrecordedDecisionStillReverts(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	fs := r.flaky()
	r.boot()
	fs.set("Decide", errors.New("disk full"))
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("revert", 3, inState(StateVerifying))
	if s.Active != "v1" || len(r.target.requests()) != 1 {
		t.Fatalf("%+v", s)
	}
	inc := r.incident(s.IncidentID)
	var said bool
	for _, ev := range inc.Events {
		said = said || strings.Contains(ev.Message, "decision could not be recorded: disk full")
	}
	if !said || countEvents(inc, incident.EvRollbackDone) != 1 {
		t.Fatalf("timeline %+v", inc.Events)
	}
}

// TestRefusedCommandsChangeNothing: a manual rollback whose incident cannot
// be opened does not revert; a pause whose save fails says so.
func TestRefusedCommandsChangeNothing(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	fs := r.flaky()
	r.boot()
	r.deploy("v2")
	fs.set("CreateIncident", errors.New("database is locked"))
	if _, err := r.svc.Rollback(context.Background(), "", "", "ann"); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("rollback without its incident: %v", err)
	}
	if s := r.svc.Status(); s.Active != "v2" || s.State != StateWatching || len(r.target.requests()) != 0 || len(r.decisions()) != 0 {
		t.Fatalf("after the refused rollback: %+v", s)
	}
	fs.set("SaveService", errors.New("disk full"))
	if err := r.svc.Pause(context.Background(), "ann"); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("pause with a failing save: %v", err)
	}
	// The evaluation goes on whatever the store does.
	fs.set("CreateIncident", nil)
	r.errRate["v2"] = 0.5
	r.until("the guard keeps guarding", 3, func(s Status) bool { return s.Verdict == "degraded" })
}

// TestPersonResolvedStaysResolved: ripcord's own later updates (verified,
// escalated) land on the timeline of an incident a person resolved, but
// never move its status back.
func TestPersonResolvedStaysResolved(t *testing.T) {
	pol := testPolicy()
	r := newRig(t, pol, "v0", "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("revert", 3, inState(StateVerifying))
	resolve := func(id string) {
		t.Helper()
		err := r.st.UpdateIncident(context.Background(), id, func(inc *incident.Incident) error {
			inc.Status, inc.ResolvedAt = incident.Resolved, r.clk.Now()
			return nil
		}, incident.Event{At: r.clk.Now(), Type: incident.EvStatus, Actor: "ann", Message: "status identified → resolved"})
		if err != nil {
			t.Fatal(err)
		}
	}
	resolve(s.IncidentID)
	r.until("verified", 20, inState(StateStable))
	inc := r.incident(s.IncidentID)
	if inc.Status != incident.Resolved || countEvents(inc, incident.EvVerified) != 1 {
		t.Fatalf("verification over a resolved incident: %s, %+v", inc.Status, inc.Events)
	}

	// Same for an escalation: the chain's incident stays as the person left it.
	r.deploy("v3")
	r.errRate["v3"] = 0.5
	r.errRate["v0"], r.errRate["v1"] = 0.5, 0.5
	r.clk.Advance(pol.Cooldown)
	s = r.until("revert of v3", 3, inState(StateVerifying))
	resolve(s.IncidentID)
	s = r.until("escalation", 10, inState(StateEscalated))
	inc = r.incident(s.IncidentID)
	if inc.Status != incident.Resolved || inc.Severity != incident.Critical || countEvents(inc, incident.EvEscalated) != 1 {
		t.Fatalf("escalation over a resolved incident: %s %s, %+v", inc.Status, inc.Severity, inc.Events)
	}
}

// TestEscalationReopensMonitoring: an incident ripcord itself moved to
// monitoring is reopened when the chain escalates.
func TestEscalationReopensMonitoring(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("revert", 3, inState(StateVerifying))
	id := s.IncidentID
	if err := r.st.UpdateIncident(context.Background(), id, func(inc *incident.Incident) error {
		inc.Status = incident.Monitoring
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.errRate["v1"] = 0.5
	r.until("escalation", 5, inState(StateEscalated))
	if inc := r.incident(id); inc.Status != incident.Investigating || inc.Severity != incident.Critical {
		t.Fatalf("incident after escalation: %s %s", inc.Status, inc.Severity)
	}
}

// TestBaselineJudgesAgainstPreviousVersion: latency judged against what v1
// showed before the deploy, not against a fixed line.
func TestBaselineJudgesAgainstPreviousVersion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v2     float64
		revert bool
	}{{"three times slower", 60, true}, {"ten percent slower", 22, false}} {
		t.Run(tc.name, func(t *testing.T) {
			pol := testPolicy()
			pol.Require = 1
			pol.Thresholds = map[string]config.Threshold{signal.LatencyP50: {Baseline: &config.Baseline{MaxIncrease: ptr(0.5)}}}
			r := newRig(t, pol, "v1").boot()
			r.extra["v1"] = map[string]float64{signal.LatencyP50: 20}
			for range 5 {
				r.tick() // v1's traffic before the deploy is the baseline
			}
			r.deploy("v2")
			r.extra["v2"] = map[string]float64{signal.LatencyP50: tc.v2}
			for range 6 {
				r.tick()
			}
			s := r.svc.Status()
			if reverted := s.Active == "v1"; reverted != tc.revert {
				t.Fatalf("reverted = %v, want %v: %+v", reverted, tc.revert, s)
			}
			if tc.revert && !strings.Contains(r.incident(s.IncidentID).Reason, "vs baseline 20ms") {
				t.Fatalf("reason %q", r.incident(s.IncidentID).Reason)
			}
			if !tc.revert && (s.Verdict != "healthy" || len(r.incidents()) != 0) {
				t.Fatalf("ten percent slower: %+v", s)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

// TestRecordStoresOneSecondPoints: every second each version with traffic
// gets a point in the store, for the post-incident report's charts.
func TestRecordStoresOneSecondPoints(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	now := r.clk.Advance(time.Second)
	if err := r.push.Push("svc", "v2", map[string]float64{signal.ErrorRate: 0.25}, 200, now); err != nil {
		t.Fatal(err)
	}
	r.svc.record(context.Background(), now)
	pts, err := r.st.Metrics(context.Background(), "svc", epoch, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 1 || pts[0].Version != "v2" || pts[0].Requests != 200 || pts[0].Errors != 50 || pts[0].Values[signal.ErrorRate] != 0.25 {
		t.Fatalf("points %+v", pts)
	}
}

// TestMetricsCountDecisions: ripcord's own exposition follows the decisions.
func TestMetricsCountDecisions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := newRig(t, testPolicy(), "v1")
	r.boot()
	r.svc.deps.Metrics = m
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	r.until("revert", 3, inState(StateVerifying))
	if got := metricValue(t, reg, "ripcord_decisions_total", "action", ActionRollback); got != 1 {
		t.Errorf("decisions{rollback} = %v", got)
	}
	if got := metricValue(t, reg, "ripcord_rollbacks_total", "", ""); got != 1 {
		t.Errorf("rollbacks = %v", got)
	}
	if got := metricValue(t, reg, "ripcord_verdict", "verdict", "degraded"); got != 1 {
		t.Errorf("verdict{degraded} = %v", got)
	}
	r.tick()
	if got := metricValue(t, reg, "ripcord_verdict", "verdict", "degraded"); got != 0 {
		t.Errorf("verdict{degraded} after a healthy tick = %v", got)
	}
}

// metricValue reads one sample of service "svc" from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if (l.GetName() == "service" && l.GetValue() != "svc") || (l.GetName() == label && l.GetValue() != value) {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// writeCounter counts the store's write transactions.
type writeCounter struct {
	store.Store
	mu     sync.Mutex
	writes []string
}

func (w *writeCounter) note(op string) { w.mu.Lock(); w.writes = append(w.writes, op); w.mu.Unlock() }
func (w *writeCounter) SaveService(ctx context.Context, s store.ServiceState) error {
	w.note("SaveService")
	return w.Store.SaveService(ctx, s)
}
func (w *writeCounter) Decide(ctx context.Context, d store.Decision, s store.ServiceState) (int64, error) {
	w.note("Decide")
	return w.Store.Decide(ctx, d, s)
}
func (w *writeCounter) RecordDecision(ctx context.Context, d store.Decision) (int64, error) {
	w.note("RecordDecision")
	return w.Store.RecordDecision(ctx, d)
}
func (w *writeCounter) CreateIncident(ctx context.Context, inc incident.Incident) (string, error) {
	w.note("CreateIncident")
	return w.Store.CreateIncident(ctx, inc)
}
func (w *writeCounter) UpdateIncident(ctx context.Context, id string, fn func(*incident.Incident) error, evs ...incident.Event) error {
	w.note("UpdateIncident")
	return w.Store.UpdateIncident(ctx, id, fn, evs...)
}
func (w *writeCounter) AppendEvent(ctx context.Context, id string, ev incident.Event) error {
	w.note("AppendEvent")
	return w.Store.AppendEvent(ctx, id, ev)
}
func (w *writeCounter) RecordMetrics(ctx context.Context, pts []store.MetricPoint) error {
	w.note("RecordMetrics")
	return w.Store.RecordMetrics(ctx, pts)
}
func (w *writeCounter) count() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.writes)
}

// TestOneCommitBeforeTheSwitch: every request between a bad verdict and the
// switch is served by the bad version, so exactly one store transaction —
// the decision together with the reverting state — stands between them;
// the incident is written after the switch, and says everything.
func TestOneCommitBeforeTheSwitch(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	wc := &writeCounter{Store: r.st}
	r.st = wc
	r.boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	started, release := r.holdRevert()
	before := len(wc.count())
	done := make(chan Status)
	go func() { done <- r.tick() }()
	<-started
	if got := wc.count()[before:]; !slices.Equal(got, []string{"Decide"}) {
		t.Fatalf("writes between the verdict and the switch: %v, want [Decide]", got)
	}
	release()
	s := <-done
	inc := r.incident(s.IncidentID)
	for _, typ := range []string{incident.EvDetected, incident.EvRollbackStarted, incident.EvRollbackDone} {
		if countEvents(inc, typ) != 1 {
			t.Fatalf("incident after the switch lacks %s: %+v", typ, inc.Events)
		}
	}
	ds, err := r.st.ListDecisions(context.Background(), "svc", 1)
	if err != nil || len(ds) != 1 || ds[0].IncidentID != s.IncidentID || ds[0].Status != store.DecisionDone {
		t.Fatalf("decision %+v (%v), want done and linked to %s", ds, err, s.IncidentID)
	}
}
