package controller

import (
	"context"
	"errors"
	"testing"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestRestartCompletesPendingDecisionOnce: the process "crashes" between
// recording a decision and acting on it; the next Start completes it, once,
// and a further restart finds nothing left to do.
func TestRestartCompletesPendingDecisionOnce(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	crashes := 0
	r.hooks = Hooks{AfterDecision: func(d store.Decision) error {
		crashes++
		if d.ID == 0 || d.Status != store.DecisionPending {
			t.Errorf("hook got %+v", d)
		}
		return errors.New("simulated crash")
	}}
	r.boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("decision taken", 3, inState(StateReverting))
	if s.Active != "v2" || len(r.target.requests()) != 0 || crashes != 1 {
		t.Fatalf("before restart: %+v, %d reverts", s, len(r.target.requests()))
	}
	r.tick() // a service awaiting recovery is not judged
	if len(r.decisions()) != 1 {
		t.Fatal("acted while reverting")
	}

	r.hooks = Hooks{}
	r.boot()
	s = r.svc.Status()
	if s.Active != "v1" || s.State != StateVerifying || !s.Versions[1].KnownBad {
		t.Fatalf("after restart: %+v", s)
	}
	if reqs := r.target.requests(); len(reqs) != 1 || reqs[0].To != "v1" {
		t.Fatalf("reverts %+v", reqs)
	}
	ds := r.decisions()
	if len(ds) != 1 || ds[0].Status != store.DecisionDone {
		t.Fatalf("decisions %+v", ds)
	}
	inc := r.incident(s.IncidentID)
	if countEvents(inc, incident.EvRollbackDone) != 1 || countEvents(inc, incident.EvRollbackStarted) != 1 {
		t.Fatalf("timeline %+v", inc.Events)
	}
	r.boot()
	if len(r.target.requests()) != 1 || len(r.decisions()) != 1 {
		t.Fatal("a second restart acted again")
	}
	if s := r.svc.Status(); s.Active != "v1" {
		t.Fatalf("after second restart: %+v", s)
	}
	r.until("verified after the restarts", 20, inState(StateStable))
}

// TestRestartAfterFinishedDecision: the crash came after the decision was
// finished and before the new state was saved. The last decision says
// where traffic went; the target is not asked again.
func TestRestartAfterFinishedDecision(t *testing.T) {
	r := newRig(t, testPolicy(), "v1", "v2")
	ctx := context.Background()
	saved := store.ServiceState{Name: "svc", Active: "v2", State: string(StateReverting), WatchSince: epoch,
		Versions: []store.Version{{Name: "v1", URL: "http://v1.test"}, {Name: "v2", URL: "http://v2.test"}}}
	if err := r.st.SaveService(ctx, saved); err != nil {
		t.Fatal(err)
	}
	id, err := r.st.RecordDecision(ctx, store.Decision{Service: "svc", Action: ActionRollback, FromVersion: "v2",
		ToVersion: "v1", Reason: "error_rate 50%", CreatedAt: epoch})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.st.FinishDecision(ctx, id, store.DecisionDone, "switched", epoch); err != nil {
		t.Fatal(err)
	}
	r.boot()
	s := r.svc.Status()
	if s.Active != "v1" || s.State != StateVerifying || !s.Versions[1].KnownBad || s.Versions[1].BadReason != "error_rate 50%" {
		t.Fatalf("after restart: %+v", s)
	}
	if active, _ := r.router.live(); active != "v1" || len(r.target.requests()) != 0 {
		t.Fatalf("router on %s, %d reverts", active, len(r.target.requests()))
	}
	loaded, err := r.st.LoadService(ctx, "svc")
	if err != nil || loaded.State != string(StateVerifying) || loaded.Active != "v1" {
		t.Fatalf("saved %+v %v", loaded, err)
	}
}

// TestRestartRevertingWithoutDecision: reverting with no decision at all
// (the decision could not be recorded) settles on stable, where it is.
func TestRestartRevertingWithoutDecision(t *testing.T) {
	r := newRig(t, testPolicy(), "v1", "v2")
	saved := store.ServiceState{Name: "svc", Active: "v2", State: string(StateReverting), WatchSince: epoch,
		Versions: []store.Version{{Name: "v1"}, {Name: "v2"}}}
	if err := r.st.SaveService(context.Background(), saved); err != nil {
		t.Fatal(err)
	}
	r.boot()
	if s := r.svc.Status(); s.Active != "v2" || s.State != StateStable || len(r.target.requests()) != 0 {
		t.Fatalf("after restart: %+v", s)
	}
}

// TestRestartKeepsPersistedState: what survives a restart is the saved
// state; an unknown saved state (a newer ripcord's) reads as stable.
func TestRestartKeepsPersistedState(t *testing.T) {
	r := newRig(t, testPolicy(), "v1").boot()
	r.deploy("v2")
	if err := r.svc.Pause(context.Background(), "ann"); err != nil {
		t.Fatal(err)
	}
	r.boot()
	if s := r.svc.Status(); s.Active != "v2" || !s.Paused || s.State != StateWatching || len(s.Versions) != 2 {
		t.Fatalf("after restart: %+v", s)
	}
	if active, _ := r.router.live(); active != "v2" {
		t.Fatalf("router on %s", active)
	}
	st, _ := r.st.LoadService(context.Background(), "svc")
	st.State = "canarying-v9"
	if err := r.st.SaveService(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	r.boot()
	if s := r.svc.Status(); s.State != StateStable {
		t.Fatalf("unknown state read as %s", s.State)
	}
}

// TestUnfinishedDecisionIsCompletedWhenTheStoreAnswers: the store goes away
// right after the switch (a PostgreSQL restart), so the decision cannot be
// finished. The machine stays reverting instead of moving on with the
// decision pending for ever; once the store answers, Run's recovery
// finishes it once, and the incident says rollback_done once.
func TestUnfinishedDecisionIsCompletedWhenTheStoreAnswers(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	fs := r.flaky()
	r.boot()
	fs.set("FinishDecision", errors.New("connection refused"))
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	s := r.until("switched", 3, func(s Status) bool { return len(r.target.requests()) == 1 })
	if s.State != StateReverting || len(r.decisions()) != 1 || r.decisions()[0].Status != store.DecisionPending {
		t.Fatalf("with the decision unfinished: %+v %+v", s, r.decisions())
	}
	r.svc.finishUnfinished(context.Background()) // still refused: stays unfinished
	if s := r.svc.Status(); s.State != StateReverting {
		t.Fatalf("moved on while the decision is unfinished: %+v", s)
	}
	fs.set("FinishDecision", nil)
	r.svc.finishUnfinished(context.Background())
	s = r.svc.Status()
	ds := r.decisions()
	if s.State != StateVerifying || s.Active != "v1" || len(ds) != 1 || ds[0].Status != store.DecisionDone {
		t.Fatalf("after the store answered: %+v %+v", s, ds)
	}
	if inc := r.incident(s.IncidentID); countEvents(inc, incident.EvRollbackDone) != 1 {
		t.Fatalf("timeline %+v", inc.Events)
	}
}

// TestRecoveryAdoptsTheUnlinkedIncident: the pass opened the rollback's
// incident but stopped before linking the decision to it (a crash between
// the two writes). The restart completes the decision on that incident
// instead of opening a second one.
func TestRecoveryAdoptsTheUnlinkedIncident(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	fs := r.flaky()
	r.boot()
	fs.set("LinkDecision", errors.New("connection reset"))
	fs.set("FinishDecision", errors.New("connection reset"))
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	r.until("switched", 3, func(s Status) bool { return len(r.target.requests()) == 1 })
	fs.set("LinkDecision", nil)
	fs.set("FinishDecision", nil)
	r.boot()
	incs, err := r.st.ListIncidents(context.Background(), store.IncidentFilter{Service: "svc", Kind: incident.KindRollback})
	if err != nil || len(incs) != 1 {
		t.Fatalf("%d rollback incidents (want 1): %v", len(incs), err)
	}
	ds := r.decisions()
	if len(ds) != 1 || ds[0].Status != store.DecisionDone || ds[0].IncidentID != incs[0].ID {
		t.Fatalf("decisions %+v, incident %s", ds, incs[0].ID)
	}
	if inc := r.incident(incs[0].ID); countEvents(inc, incident.EvRollbackDone) != 1 {
		t.Fatalf("timeline %+v", inc.Events)
	}
}
