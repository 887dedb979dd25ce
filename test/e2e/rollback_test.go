package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
)

func TestBadDeployErrorsIsRolledBack(t *testing.T) {
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	stop := e.load(300)
	defer stop()
	e.deploy(newBackend(t, "v2").failPerMille(500))
	s := e.waitFor("rollback to v1", 10*time.Second, active("v1"))
	if s.IncidentID == "" {
		t.Fatalf("no incident on the status after rollback: %+v", s)
	}
	inc := e.incident(s.IncidentID)
	if inc.Kind != incident.KindRollback || inc.FromVersion != "v2" || inc.ToVersion != "v1" {
		t.Fatalf("incident %+v", inc)
	}
	for _, typ := range []string{incident.EvOpened, incident.EvDetected, incident.EvRollbackStarted, incident.EvRollbackDone} {
		if !hasEvent(inc, typ) {
			t.Errorf("timeline lacks %q: %+v", typ, inc.Events)
		}
	}
	if inc.DetectedAt.IsZero() || inc.RollbackStartedAt.IsZero() || inc.ImpactStartedAt.IsZero() {
		t.Errorf("timestamps missing: %+v", inc)
	}
	s = e.waitFor("verification", 10*time.Second, stateIs(controller.StateStable))
	if !s.Versions[1].KnownBad {
		t.Errorf("v2 not marked known-bad: %+v", s.Versions)
	}
	inc = e.incident(inc.ID)
	if inc.Status != incident.Monitoring || inc.MitigatedAt.IsZero() || !hasEvent(inc, incident.EvVerified) {
		t.Errorf("after verification incident is %s, mitigated %v", inc.Status, inc.MitigatedAt)
	}
	ds, err := e.client.Decisions(t.Context(), "svc")
	if err != nil || len(ds) != 1 || ds[0].Status != "done" || ds[0].Snapshot["error_rate"] < 0.25 {
		t.Fatalf("decisions %+v err %v", ds, err)
	}
	// The post-incident report is written after verification, and served.
	var written incident.Event
	e.waitIncident("the report", 10*time.Second, func(i incident.Incident) bool {
		for _, ev := range e.incident(i.ID).Events {
			if i.ID == inc.ID && ev.Type == incident.EvReport {
				written = ev
			}
		}
		return written.Type != ""
	})
	md, _ := written.Data["markdown"].(string)
	body, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(body), "## Timeline") || !strings.Contains(string(body), "v2 → v1") {
		t.Fatalf("report file %q: %v", md, err)
	}
	html, err := e.client.Report(t.Context(), inc.ID, "html")
	if err != nil || !strings.Contains(string(html), "Timeline") || !strings.Contains(string(html), "<html") {
		t.Fatalf("GET report html: %v (%d bytes)", err, len(html))
	}
}

func TestLatencyRegressionIsRolledBack(t *testing.T) {
	pol := fastPolicy()
	// A latency regression shows at the median and the tail: two anomalies,
	// as the seed's "require 2" wants.
	pol.Thresholds["latency_p99_ms"] = thr(200, 0)
	pol.Thresholds["latency_p50_ms"] = thr(100, 0)
	e := start(t, pol, newBackend(t, "v1"))
	stop := e.load(200)
	defer stop()
	e.deploy(newBackend(t, "v2").slow(400 * time.Millisecond))
	s := e.waitFor("rollback to v1", 10*time.Second, active("v1"))
	inc := e.incident(s.IncidentID)
	if inc.Reason == "" || !contains(inc.Reason, "latency_p99_ms") || !contains(inc.Reason, "latency_p50_ms") {
		t.Fatalf("reason %q does not name both latencies", inc.Reason)
	}
}

func TestCriticalAloneTriggers(t *testing.T) {
	pol := fastPolicy() // require 2; error_rate critical 25%
	e := start(t, pol, newBackend(t, "v1"))
	stop := e.load(300)
	defer stop()
	e.deploy(newBackend(t, "v2").failPerMille(700))
	s := e.waitFor("rollback to v1", 10*time.Second, active("v1"))
	if inc := e.incident(s.IncidentID); !contains(inc.Reason, "critical") {
		t.Fatalf("reason %q: want a critical finding", inc.Reason)
	}
}

// TestNoisyHealthyNeverRolledBack: 1–3% errors and jittery latency, for many
// windows, never reverts.
func TestNoisyHealthyNeverRolledBack(t *testing.T) {
	pol := fastPolicy()
	pol.Window = 500 * time.Millisecond // many short windows in a few seconds
	e := start(t, pol, newBackend(t, "v1").failPerMille(20))
	stop := e.load(300)
	defer stop()
	v2 := newBackend(t, "v2").failPerMille(10).jittery(40 * time.Millisecond)
	e.deploy(v2)
	for _, pm := range []int64{10, 30, 20, 30} {
		v2.failPerMille(pm)
		e.served(v2, 450) // 1.5 s at 300 req/s: three windows of this noise
	}
	s := e.judged(3)
	total, failed := stop()
	if s.Active != "v2" || len(e.incidents()) != 0 {
		t.Fatalf("noisy-but-healthy v2 was acted on: active %s, incidents %+v", s.Active, e.incidents())
	}
	if total < 1000 || failed == 0 {
		t.Fatalf("load did not exercise the noise: %d requests, %d failed", total, failed)
	}
}

// TestLowTrafficNeverTriggers: a user's min_samples floor holds. (Without
// one the switch's counts let the sequential test revert a version that
// fails every request after a handful of them, at any rate — the floor is
// what a user sets who wants more before acting.)
func TestLowTrafficNeverTriggers(t *testing.T) {
	pol := fastPolicy()
	pol.MinSamples = 50 // more than the 30 requests v2 gets below
	e := start(t, pol, newBackend(t, "v1"))
	stop := e.load(10) // ~20 requests per window
	defer stop()
	v2 := newBackend(t, "v2").failPerMille(1000)
	e.deploy(v2)
	e.served(v2, 30) // 3 s at 10 req/s: every window sees some, none enough
	s := e.judged(3)
	if s.Active != "v2" || s.Verdict != "inconclusive" {
		t.Fatalf("low traffic: active %s verdict %s (%s)", s.Active, s.Verdict, s.Reason)
	}
	if n := len(e.incidents()); n != 0 {
		t.Fatalf("%d incidents opened on low traffic", n)
	}
}

func TestFallbackChainThenEscalate(t *testing.T) {
	pol := fastPolicy()
	v0, v1 := newBackend(t, "v0"), newBackend(t, "v1").failPerMille(600)
	e := start(t, pol, v0, v1)
	// v1 is bad too, but was stable before; deploy v2, which is bad.
	stop := e.load(300)
	defer stop()
	e.deploy(newBackend(t, "v2").failPerMille(600))
	s := e.waitFor("fallback to v0", 15*time.Second, active("v0"))
	inc := e.incident(s.IncidentID)
	if !hasEvent(inc, incident.EvFallback) || inc.ToVersion != "v0" {
		t.Fatalf("fallback not on the timeline: %+v", inc.Events)
	}
	e.waitFor("v0 verified", 10*time.Second, stateIs(controller.StateStable))
	if incs := e.incidents(); len(incs) != 1 {
		t.Fatalf("the chain should be one incident, got %d", len(incs))
	}
	// Now v0 goes bad as well: nothing healthy left.
	v0.failPerMille(600)
	s = e.waitFor("escalation", 10*time.Second, stateIs(controller.StateEscalated))
	if !s.Paused || s.Active != "v0" {
		t.Fatalf("escalated but %+v", s)
	}
	var crit bool
	for _, i := range e.incidents() {
		crit = crit || i.Severity == incident.Critical
	}
	if !crit {
		t.Fatal("no critical incident after the chain was exhausted")
	}
	// Paused means paused: a person resumes.
	if _, err := e.client.Resume(t.Context(), "svc"); err != nil {
		t.Fatal(err)
	}
	if s := e.status(); s.Paused || s.State != controller.StateStable {
		t.Fatalf("after resume: %+v", s)
	}
}

func TestFallbackChainExhaustedByMaxFallback(t *testing.T) {
	pol := fastPolicy()
	pol.MaxFallback = 1
	v0, v1 := newBackend(t, "v0"), newBackend(t, "v1").failPerMille(600)
	e := start(t, pol, v0, v1)
	stop := e.load(300)
	defer stop()
	e.deploy(newBackend(t, "v2").failPerMille(600))
	s := e.waitFor("escalation", 15*time.Second, stateIs(controller.StateEscalated))
	if s.Active != "v1" || !s.Paused {
		t.Fatalf("max_fallback 1 should stop on v1, paused: %+v", s)
	}
}

func TestCooldownBlocksSecondUnrelatedRollback(t *testing.T) {
	pol := fastPolicy()
	pol.Cooldown = time.Hour
	e := start(t, pol, newBackend(t, "v1"))
	stop := e.load(300)
	defer stop()
	e.deploy(newBackend(t, "v2").failPerMille(600))
	e.waitFor("rollback", 10*time.Second, active("v1"))
	e.waitFor("stable", 10*time.Second, stateIs(controller.StateStable))
	e.deploy(newBackend(t, "v3").failPerMille(600))
	// The moment ripcord would have reverted v3 it says why it did not.
	inc := e.waitIncident("the suppressed rollback", 10*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindDegraded })
	if !hasEvent(inc, incident.EvSuppressed) {
		t.Fatalf("degraded incident does not say the rollback was suppressed: %+v", inc.Events)
	}
	if s := e.judged(3); s.Active != "v3" {
		t.Fatalf("cooldown did not block the second rollback: active %s", s.Active)
	}
}

func thr(max, critical float64) config.Threshold {
	t := config.Threshold{Max: ptr(max)}
	if critical > 0 {
		t.Critical = ptr(critical)
	}
	return t
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestFrequentRollbacksRaiseSeverity: the third rollback in 7 days is
// critical, and says why on its timeline.
func TestFrequentRollbacksRaiseSeverity(t *testing.T) {
	pol := fastPolicy()
	pol.Cooldown = 0
	e := start(t, pol, newBackend(t, "v1"))
	stop := e.load(300)
	defer stop()
	for _, v := range []string{"v2", "v3", "v4"} {
		e.deploy(newBackend(t, v).failPerMille(600))
		e.waitFor("rollback of "+v, 10*time.Second, active("v1"))
		e.waitFor("stable", 10*time.Second, stateIs(controller.StateStable))
	}
	incs := e.incidents() // newest first
	if len(incs) != 3 || incs[2].Severity != incident.Major || incs[1].Severity != incident.Major || incs[0].Severity != incident.Critical {
		t.Fatalf("severities %v %v %v", incs[2].Severity, incs[1].Severity, incs[0].Severity)
	}
	var said bool
	for _, ev := range e.incident(incs[0].ID).Events {
		said = said || strings.Contains(ev.Message, "3 rollbacks of svc in 7 days")
	}
	if !said {
		t.Fatal("the critical incident does not say why")
	}
}
