package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestBadDeployRolledBackThenVerified is the main path, one rule at a
// time: a confirmed Degraded verdict reverts to the previous version with
// the decision recorded first, the reverted version is known-bad, and the
// version reverted to is verified before the service is stable again.
func TestBadDeployRolledBackThenVerified(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.tick()
	if s.State != StateVerifying || s.Active != "v1" || s.Fallbacks != 1 {
		t.Fatalf("after a bad verdict: %+v", s)
	}
	if reqs := r.target.requests(); len(reqs) != 1 || reqs[0].From != "v2" || reqs[0].To != "v1" || reqs[0].DryRun {
		t.Fatalf("target asked %+v", reqs)
	}
	if !s.Versions[1].KnownBad || s.Versions[1].BadReason == "" {
		t.Fatalf("v2 not known-bad: %+v", s.Versions)
	}
	if active, fallback := r.router.live(); active != "v1" || fallback != "" {
		t.Fatalf("router active %s fallback %q", active, fallback)
	}
	ds := r.decisions()
	if len(ds) != 1 || ds[0].Action != ActionRollback || ds[0].Status != store.DecisionDone || ds[0].Snapshot["error_rate"] != 0.5 {
		t.Fatalf("decisions %+v", ds)
	}
	if !s.CooldownUntil.Equal(r.clk.Now().Add(r.cfg.Policy.Cooldown)) {
		t.Fatalf("cooldown until %v", s.CooldownUntil)
	}
	inc := r.incident(s.IncidentID)
	if inc.Kind != incident.KindRollback || inc.Severity != incident.Major || inc.Status != incident.Identified ||
		inc.ToVersion != "v1" || inc.RollbackStartedAt.IsZero() {
		t.Fatalf("incident %+v", inc)
	}
	for _, typ := range []string{incident.EvOpened, incident.EvDetected, incident.EvRollbackStarted, incident.EvRollbackDone, incident.EvStatus} {
		if countEvents(inc, typ) != 1 {
			t.Errorf("timeline has %d %q events, want 1", countEvents(inc, typ), typ)
		}
	}
	if ds[0].IncidentID != inc.ID {
		t.Errorf("decision belongs to %q, want %s", ds[0].IncidentID, inc.ID)
	}
	// Healthy, but not yet for `verify`.
	s = r.until("verified", 20, inState(StateStable))
	if age := r.clk.Now().Sub(s.WatchSince); age < r.cfg.Policy.Verify {
		t.Fatalf("stable after %s of verification, want %s", age, r.cfg.Policy.Verify)
	}
	inc = r.incident(inc.ID)
	if inc.Status != incident.Monitoring || inc.MitigatedAt.IsZero() || countEvents(inc, incident.EvVerified) != 1 {
		t.Fatalf("after verification: %+v", inc)
	}
	if s.IncidentID != "" || s.Fallbacks != 0 {
		t.Fatalf("stable but still in the chain: %+v", s)
	}
}

// TestVerificationInconclusiveBecomesStable: a version reverted to that
// never gets enough traffic to be judged healthy is treated as stable after
// 3 × verify, and says why.
func TestVerificationInconclusiveBecomesStable(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	// Every version sees one request per interval: too little for v1 ever
	// to be shown healthy, enough for v2's total outage to be proven.
	r.samples = 1
	r.deploy("v2")
	r.errRate["v2"] = 1
	start := r.until("revert", 30, inState(StateVerifying)).WatchSince
	s := r.until("inconclusive verification ends", 40, inState(StateStable))
	if s.Verdict != "inconclusive" || r.clk.Now().Sub(start) < 3*r.cfg.Policy.Verify {
		t.Fatalf("stable after %s with verdict %s", r.clk.Now().Sub(start), s.Verdict)
	}
	inc := r.incident(r.incidents()[0].ID)
	ev := inc.Events[len(inc.Events)-2] // then the status change it caused
	if ev.Type != incident.EvVerified || !strings.Contains(ev.Message, "verification inconclusive") || inc.Status != incident.Monitoring {
		t.Fatalf("incident %s, event %+v", inc.Status, ev)
	}
}

// TestFallbackChainAndCooldown: v2 and v1 are bad, v0 is good. The chain
// v2 → v1 → v0 is one incident, and the cooldown the first revert started
// does not block the second step of the same incident.
func TestFallbackChainAndCooldown(t *testing.T) {
	r := newRig(t, testPolicy(), "v0", "v1").boot()
	r.errRate["v1"] = 0.5
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	r.until("first revert", 3, func(s Status) bool { return s.Active == "v1" })
	s := r.until("fallback to v0", 5, func(s Status) bool { return s.Active == "v0" })
	if !r.clk.Now().Before(s.CooldownUntil) || s.Fallbacks != 2 {
		t.Fatalf("fallback: %+v", s)
	}
	if incs := r.incidents(); len(incs) != 1 {
		t.Fatalf("the chain opened %d incidents", len(incs))
	}
	inc := r.incident(s.IncidentID)
	if countEvents(inc, incident.EvFallback) != 1 || countEvents(inc, incident.EvRollbackDone) != 2 || inc.ToVersion != "v0" {
		t.Fatalf("timeline %+v", inc.Events)
	}
	ds := r.decisions() // newest first
	if len(ds) != 2 || ds[0].Action != ActionFallback || ds[0].FromVersion != "v1" || ds[1].Action != ActionRollback {
		t.Fatalf("decisions %+v", ds)
	}
	if !s.Versions[1].KnownBad || !s.Versions[2].KnownBad || s.Versions[0].KnownBad {
		t.Fatalf("known-bad marks %+v", s.Versions)
	}
	r.until("v0 verified", 20, inState(StateStable))
}

// TestCooldownSuppressesUnrelatedRollback: a new bad deploy soon after a
// rollback is not reverted; an incident says why, once.
func TestCooldownSuppressesUnrelatedRollback(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	r.until("revert", 3, inState(StateVerifying))
	r.until("stable", 20, inState(StateStable))
	r.deploy("v3")
	r.errRate["v3"] = 0.5
	for range 5 {
		r.tick()
	}
	if s := r.svc.Status(); s.Active != "v3" || s.State != StateWatching || len(r.target.requests()) != 1 {
		t.Fatalf("cooldown did not hold: %+v, %d reverts", s, len(r.target.requests()))
	}
	var degraded []incident.Incident
	for _, i := range r.incidents() {
		if i.Kind == incident.KindDegraded {
			degraded = append(degraded, r.incident(i.ID))
		}
	}
	if len(degraded) != 1 || countEvents(degraded[0], incident.EvSuppressed) != 1 ||
		!strings.Contains(degraded[0].Events[len(degraded[0].Events)-1].Message, "cooldown") {
		t.Fatalf("want one suppressed incident, got %+v", degraded)
	}
	// Once the cooldown is over the same version is reverted.
	r.clk.Advance(r.cfg.Policy.Cooldown)
	r.until("revert after cooldown", 3, func(s Status) bool { return s.Active == "v1" })
}

// TestFallbackChainExhaustedEscalates: every version is bad; after the
// chain ripcord escalates, pauses automation, and a person resumes.
func TestFallbackChainExhaustedEscalates(t *testing.T) {
	r := newRig(t, testPolicy(), "v0", "v1").boot()
	r.errRate["v0"], r.errRate["v1"] = 0.5, 0.5
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("escalation", 10, inState(StateEscalated))
	if s.Active != "v0" || !s.Paused || s.Fallbacks != 2 {
		t.Fatalf("escalated: %+v", s)
	}
	inc := r.incident(s.IncidentID)
	if inc.Severity != incident.Critical || countEvents(inc, incident.EvEscalated) != 1 {
		t.Fatalf("incident %+v", inc)
	}
	if !strings.Contains(inc.Events[len(inc.Events)-1].Message, "fallback chain exhausted after 2 step(s)") {
		t.Fatalf("escalation says %q", inc.Events[len(inc.Events)-1].Message)
	}
	n := len(r.target.requests())
	for range 3 {
		r.tick() // escalated: judged, never acted on
	}
	if len(r.target.requests()) != n || len(r.incidents()) != 1 {
		t.Fatalf("acted while escalated")
	}
	if err := r.svc.Resume(context.Background(), "ann"); err != nil {
		t.Fatal(err)
	}
	if s := r.svc.Status(); s.Paused || s.State != StateStable || s.IncidentID != "" || !s.WatchSince.Equal(r.clk.Now()) {
		t.Fatalf("after resume: %+v", s)
	}
}

// TestMaxFallbackStopsTheChain: max_fallback 1 escalates on the first
// version reverted to, although an older one exists.
func TestMaxFallbackStopsTheChain(t *testing.T) {
	pol := testPolicy()
	pol.MaxFallback = 1
	r := newRig(t, pol, "v0", "v1").boot()
	r.errRate["v1"] = 0.5
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("escalation", 10, inState(StateEscalated))
	if s.Active != "v1" || len(r.target.requests()) != 1 {
		t.Fatalf("max_fallback 1: %+v, %d reverts", s, len(r.target.requests()))
	}
}

// TestRevertFailureEscalates: a target error finishes the decision as
// failed, lands on the timeline and escalates; the loop keeps running.
func TestRevertFailureEscalates(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.target.fail = errors.New("rollout stuck: 0 of 3 pods ready")
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("escalation", 3, inState(StateEscalated))
	if s.Active != "v2" || !s.Paused {
		t.Fatalf("after failed revert: %+v", s)
	}
	ds := r.decisions()
	if len(ds) != 1 || ds[0].Status != store.DecisionFailed || !strings.Contains(ds[0].Result, "rollout stuck") {
		t.Fatalf("decision %+v", ds)
	}
	inc := r.incident(s.IncidentID)
	if inc.Severity != incident.Critical || countEvents(inc, incident.EvRollbackFailed) != 1 || countEvents(inc, incident.EvEscalated) != 1 {
		t.Fatalf("incident %+v", inc)
	}
	if active, _ := r.router.live(); active != "v2" {
		t.Fatalf("router moved to %s", active)
	}
	r.tick() // still evaluating, not acting
	if len(r.target.requests()) != 1 {
		t.Fatalf("%d reverts after escalation", len(r.target.requests()))
	}
}

// TestNoOlderVersionEscalates: a bad version with nothing healthy before it
// pages a person at once.
func TestNoOlderVersionEscalates(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.errRate["v1"] = 0.5
	s := r.until("escalation", 3, inState(StateEscalated))
	incs := r.incidents()
	if len(incs) != 1 || incs[0].Kind != incident.KindEscalation || incs[0].Severity != incident.Critical ||
		!strings.Contains(incs[0].Title, "no older healthy version") || s.IncidentID != incs[0].ID {
		t.Fatalf("incidents %+v, status %+v", incs, s)
	}
	if len(r.target.requests()) != 0 || len(r.decisions()) != 0 {
		t.Fatal("reverted with nothing to revert to")
	}
}

// TestKnownBadIsNeverAFallbackTarget: a version ripcord reverted once is
// skipped by the chain; deploying it again on purpose clears the mark.
func TestKnownBadIsNeverAFallbackTarget(t *testing.T) {
	pol := testPolicy()
	pol.Cooldown = 0
	r := newRig(t, pol, "v0", "v1").boot()
	r.errRate["v1"] = 0.5
	r.until("v1 reverted", 3, func(s Status) bool { return s.Active == "v0" })
	r.errRate["v1"] = 0
	r.until("stable", 20, inState(StateStable))
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("v2 reverted", 3, func(s Status) bool { return s.Active != "v2" })
	if s.Active != "v0" {
		t.Fatalf("reverted to %s, past known-bad v1 to v0 expected", s.Active)
	}
	r.until("stable", 20, inState(StateStable))
	r.deploy("v1")
	if s := r.svc.Status(); s.Versions[1].KnownBad || s.State != StateWatching {
		t.Fatalf("deploying v1 again did not clear its mark: %+v", s)
	}
}

// TestPausedNeverReverts: paused automation judges, opens one incident
// saying nothing was reverted, and leaves traffic alone.
func TestPausedNeverReverts(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	if err := r.svc.Pause(context.Background(), "ann"); err != nil {
		t.Fatal(err)
	}
	r.errRate["v2"] = 0.5
	for range 5 {
		r.tick()
	}
	s := r.svc.Status()
	if s.Active != "v2" || s.Verdict != "degraded" || len(r.target.requests()) != 0 {
		t.Fatalf("paused: %+v", s)
	}
	incs := r.incidents()
	if len(incs) != 1 || incs[0].Kind != incident.KindDegraded {
		t.Fatalf("incidents %+v", incs)
	}
	if ev := r.incident(incs[0].ID).Events; ev[len(ev)-1].Message != "automation is paused, nothing was reverted" {
		t.Fatalf("timeline %+v", ev)
	}
}

// TestBlindNeverRevertsAndResolves: missing telemetry is not an anomaly.
// No revert; after blind_grace a minor incident; resolved when data
// returns.
func TestBlindNeverRevertsAndResolves(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	r.tick()
	delete(r.errRate, "v2") // the pipeline stops reporting
	s := r.until("blind", 20, func(s Status) bool { return s.Verdict == "blind" })
	if len(r.incidents()) != 0 {
		t.Fatal("incident before the grace period")
	}
	for r.clk.Now().Sub(s.VerdictAt) < r.cfg.Policy.BlindGrace {
		r.tick()
	}
	r.tick()
	incs := r.incidents()
	if len(incs) != 1 || incs[0].Kind != incident.KindBlind || incs[0].Severity != incident.Minor || incs[0].Status != incident.Investigating {
		t.Fatalf("incidents %+v", incs)
	}
	for range 5 {
		r.tick() // still blind: one incident, no revert
	}
	if len(r.incidents()) != 1 || len(r.target.requests()) != 0 || r.svc.Status().Active != "v2" {
		t.Fatal("blind acted")
	}
	r.errRate["v2"] = 0
	r.until("data back", 3, func(s Status) bool { return s.Verdict == "healthy" })
	inc := r.incident(incs[0].ID)
	if inc.Status != incident.Resolved || inc.ResolvedAt.IsZero() || countEvents(inc, incident.EvDataReturned) != 1 {
		t.Fatalf("blind incident after data returned: %+v", inc)
	}
}

// TestFrequentRollbacksAreCritical: the third automatic rollback in 7 days
// is critical, counting rollbacks a previous run of ripcord recorded.
func TestFrequentRollbacksAreCritical(t *testing.T) {
	pol := testPolicy()
	pol.Cooldown = 0
	r := newRig(t, pol, "v1").boot()
	for i, v := range []string{"v2", "v3"} {
		r.deploy(v)
		r.errRate[v] = 0.5
		r.until("revert of "+v, 3, func(s Status) bool { return s.Active == "v1" })
		r.until("stable", 20, inState(StateStable))
		if i == 0 {
			r.boot() // a restart in between: the count comes from the store
		}
	}
	r.deploy("v4")
	r.errRate["v4"] = 0.5
	s := r.until("revert of v4", 3, func(s Status) bool { return s.Active == "v1" })
	inc := r.incident(s.IncidentID)
	if inc.Severity != incident.Critical || !strings.Contains(inc.Events[2].Message, "3 rollbacks of svc in 7 days") {
		t.Fatalf("third rollback: %s, %+v", inc.Severity, inc.Events)
	}
	for _, i := range r.incidents()[1:] {
		if i.Severity != incident.Major {
			t.Fatalf("earlier rollback %s is %s", i.ID, i.Severity)
		}
	}
}

// TestBakeMakesStable: a watched version that stays healthy for `bake` is
// stable, and still guarded.
func TestBakeMakesStable(t *testing.T) {
	pol := testPolicy()
	pol.Bake = 5 * time.Second
	r := newRig(t, pol, "v1").boot()
	r.deploy("v2")
	s := r.until("baked", 10, inState(StateStable))
	if r.clk.Now().Sub(s.WatchSince) < pol.Bake {
		t.Fatalf("stable before bake: %+v", s)
	}
	r.errRate["v2"] = 0.5
	r.until("a stable version that goes bad is reverted", 12, func(s Status) bool { return s.Active == "v1" })
}

// TestManualRollback: a person's rollback ignores cooldown, opens a minor
// incident with the person's reason, and marks the version left known-bad.
func TestManualRollback(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	r.tick()
	id, err := r.svc.Rollback(context.Background(), "", "checkout button broken", "ann")
	if err != nil {
		t.Fatal(err)
	}
	s := r.svc.Status()
	if s.Active != "v1" || s.State != StateVerifying || !s.Versions[1].KnownBad || s.IncidentID != id {
		t.Fatalf("after manual rollback: %+v", s)
	}
	inc := r.incident(id)
	if inc.Kind != incident.KindManual || inc.Severity != incident.Minor || inc.Reason != "checkout button broken" || inc.Events[1].Actor != "ann" {
		t.Fatalf("incident %+v", inc)
	}
	if ds := r.decisions(); len(ds) != 1 || ds[0].Action != ActionManual {
		t.Fatalf("decisions %+v", ds)
	}
	for _, tc := range []struct{ to, want string }{{"v1", "already on v1"}, {"v9", "no version"}} {
		_, err := r.svc.Rollback(context.Background(), tc.to, "", "ann")
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rollback to %s: %v", tc.to, err)
		}
	}
	if _, err := r.svc.Rollback(context.Background(), "", "", "ann"); !errors.Is(err, ErrInvalid) {
		t.Errorf("rollback with nothing older: %v", err)
	}
}

// TestDeployRefusals: a bad deploy changes nothing.
func TestDeployRefusals(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.router.refuseURL = "not a url"
	before := r.svc.Status()
	wantErrIs(t, "new version without url", r.svc.Deploy(context.Background(), "v2", "", "ann"), ErrInvalid)
	wantErrIs(t, "url the router refuses", r.svc.Deploy(context.Background(), "v2", "not a url", "ann"), ErrInvalid)
	after := r.svc.Status()
	if len(after.Versions) != len(before.Versions) || after.State != before.State || after.Active != "v1" {
		t.Fatalf("refused deploys changed the service: %+v", after)
	}
	ext := New(r.cfg, Deps{Store: r.st, Target: r.target, Router: NoRouter{}, External: true, Now: r.clk.Now})
	wantErrIs(t, "deploy of an external service", ext.Deploy(context.Background(), "v2", "x", "ann"), ErrInvalid)
	if deps, _ := r.st.ListDeployments(context.Background(), "svc", 0); len(deps) != 0 {
		t.Fatalf("refused deploys were recorded: %+v", deps)
	}
}

// TestObservedRollouts: a Kubernetes rollout of a new version starts a
// watch; ripcord's own revert, seen as a rollout, does not.
func TestObservedRollouts(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	ctx := context.Background()
	r.svc.Observed(ctx, "v2", "registry.local/app:v2", "")
	if s := r.svc.Status(); s.Active != "v2" || s.State != StateWatching {
		t.Fatalf("observed rollout: %+v", s)
	}
	r.svc.Observed(ctx, "v1", "registry.local/app:v1", "ripcord: automatic rollback of v2 → v1")
	r.svc.Observed(ctx, "v2", "registry.local/app:v2", "")
	if s := r.svc.Status(); s.Active != "v2" {
		t.Fatalf("own revert taken for a deploy: %+v", s)
	}
	if deps, _ := r.st.ListDeployments(ctx, "svc", 0); len(deps) != 1 || deps[0].Actor != "kubernetes" {
		t.Fatalf("deployments %+v", deps)
	}
	if !strings.Contains(r.logs.String(), "ripcord's own revert") {
		t.Fatal("ignored rollout not logged")
	}
}

// TestTransitionsAreLogged: every state change is one Info line with its
// reason.
func TestTransitionsAreLogged(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	r.until("revert", 3, inState(StateVerifying))
	log := r.logs.String()
	for _, want := range []string{
		`level=INFO msg="state changed" service=svc from=stable to=watching reason="deployed v2 by ann"`,
		`from=watching to=reverting reason="rollback v2 → v1: `,
		`from=reverting to=verifying reason="reverted v2 → v1; verifying v1 for 10s"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

// TestDryRunNeverMovesTraffic: policy.dry_run decides, records, opens an
// incident and notifies, asks the target in dry-run mode, and leaves
// traffic where it is — once per version.
func TestDryRunNeverMovesTraffic(t *testing.T) {
	pol := testPolicy()
	pol.DryRun = true
	r := newRig(t, pol, "v1").boot()
	wakes := 0
	r.svc.deps.Notify = func() { wakes++ }
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	for range 6 {
		r.tick()
	}
	s := r.svc.Status()
	if s.Active != "v2" || s.State != StateWatching || s.Versions[1].KnownBad || !s.CooldownUntil.IsZero() || s.IncidentID != "" {
		t.Fatalf("dry run changed the service: %+v", s)
	}
	if active, _ := r.router.live(); active != "v2" {
		t.Fatalf("router moved to %s", active)
	}
	reqs := r.target.requests()
	if len(reqs) != 1 || !reqs[0].DryRun || reqs[0].From != "v2" || reqs[0].To != "v1" {
		t.Fatalf("target asked %+v", reqs)
	}
	ds := r.decisions()
	if len(ds) != 1 || ds[0].Action != ActionDryRun || ds[0].Status != store.DecisionDone || !strings.Contains(ds[0].Result, "would have switched v2 → v1") {
		t.Fatalf("decisions %+v", ds)
	}
	incs := r.incidents()
	if len(incs) != 1 || incs[0].Kind != incident.KindDryRun || incs[0].Title != "svc: dry run: would have rolled back v2 → v1" || ds[0].IncidentID != incs[0].ID {
		t.Fatalf("incidents %+v", incs)
	}
	inc := r.incident(incs[0].ID)
	if !strings.Contains(inc.Events[2].Message, "would have rolled back v2 → v1: error_rate") || !inc.RollbackStartedAt.IsZero() || inc.Status != incident.Investigating {
		t.Fatalf("timeline %+v", inc)
	}
	if wakes == 0 {
		t.Fatal("nobody was notified")
	}
	// A person can still roll back for real.
	if _, err := r.svc.Rollback(context.Background(), "", "", "ann"); err != nil {
		t.Fatal(err)
	}
	if active, _ := r.router.live(); active != "v1" {
		t.Fatalf("manual rollback under dry_run left traffic on %s", active)
	}
}

// TestPersistentAnomalyActsAfterSustain: podinfo's --random-error (≈ 11%
// 5xx) is one anomalous metric under require 2. It is shown suspect at
// once and, proven for sustain, reverted — no longer "healthy" forever.
func TestPersistentAnomalyActsAfterSustain(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.11
	s := r.tick()
	if s.Verdict == "healthy" {
		t.Fatalf("an 11%% error rate shown healthy: %+v", s)
	}
	s = r.until("suspect", 10, func(s Status) bool { return s.Verdict == "suspect" })
	if !strings.Contains(s.Reason, "the policy needs 2 anomalous metrics or error_rate > 25.0%") {
		t.Errorf("suspect reason does not say what would revert: %q", s.Reason)
	}
	s = r.until("reverted after sustain", 40, inState(StateVerifying))
	took := r.clk.Now().Sub(epoch)
	if took < r.cfg.Policy.Sustain || took > r.cfg.Policy.Sustain+10*time.Second {
		t.Errorf("reverted after %s of watching; sustain is %s", took, r.cfg.Policy.Sustain)
	}
	inc := r.incidents()[0]
	if inc.Kind != incident.KindRollback || !strings.Contains(inc.Reason, "proven for") {
		t.Fatalf("incident %s %q", inc.Kind, inc.Reason)
	}
	for _, i := range r.incidents() {
		if i.Kind == incident.KindSuspect {
			t.Errorf("a suspect incident opened for an anomaly sustain reverted: %+v", i)
		}
	}
}

// TestSuspectIncidentWithoutSustain: with sustain 0 (the seed's pure rule)
// one anomalous metric is never reverted, but after suspect_grace a minor
// incident says so and why, and it resolves when the version is healthy.
func TestSuspectIncidentWithoutSustain(t *testing.T) {
	pol := testPolicy()
	pol.Sustain = 0
	r := newRig(t, pol, "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.11
	r.until("suspect incident", 60, func(Status) bool { return len(r.incidents()) == 1 })
	inc := r.incidents()[0]
	if inc.Kind != incident.KindSuspect || inc.Severity != incident.Minor || !strings.Contains(inc.Reason, "error_rate") ||
		!strings.Contains(inc.Reason, "the policy needs 2 anomalous metrics") {
		t.Fatalf("incident %s %s %q", inc.Kind, inc.Severity, inc.Reason)
	}
	if r.clk.Now().Sub(epoch) < pol.SuspectGrace {
		t.Errorf("suspect incident opened after %s, before suspect_grace %s", r.clk.Now().Sub(epoch), pol.SuspectGrace)
	}
	if len(r.target.requests()) != 0 {
		t.Fatal("one anomaly under require 2 and sustain 0 was reverted")
	}
	r.errRate["v2"] = 0.0
	r.until("resolved when healthy", 400, func(Status) bool { return r.incident(inc.ID).Status == incident.Resolved })
}
