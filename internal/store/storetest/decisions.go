package storetest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/ripcord/ripcord/internal/store"
)

func testDeployments(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []store.Deployment
	for i, svc := range []string{"svc-a", "svc-a", "svc-b", "svc-a"} {
		d := store.Deployment{Service: svc, Version: fmt.Sprintf("v%d", i+1),
			URL: fmt.Sprintf("http://10.0.1.%d:80", i+1), Actor: "deploy-bot", At: at(i)}
		id, err := s.RecordDeployment(ctx, d)
		must(t, "RecordDeployment", err)
		for _, w := range want {
			if w.ID == id {
				t.Fatalf("RecordDeployment returned duplicate ID %d", id)
			}
		}
		d.ID = id
		want = append(want, d)
	}
	check := func(what string, got []store.Deployment, idx ...int) {
		t.Helper()
		if len(got) != len(idx) {
			t.Fatalf("%s: %d deployments, want %d: %+v", what, len(got), len(idx), got)
		}
		for i, j := range idx {
			g, w := got[i], want[j]
			p := fmt.Sprintf("%s[%d]", what, i)
			eq(t, p+".ID", g.ID, w.ID)
			eq(t, p+".Service", g.Service, w.Service)
			eq(t, p+".Version", g.Version, w.Version)
			eq(t, p+".URL", g.URL, w.URL)
			eq(t, p+".Actor", g.Actor, w.Actor)
			sameTime(t, p+".At", g.At, w.At)
		}
	}
	list := func(service string, limit int) []store.Deployment {
		t.Helper()
		got, err := s.ListDeployments(ctx, service, limit)
		must(t, "ListDeployments", err)
		return got
	}
	check("svc-a newest first", list("svc-a", 0), 3, 1, 0)
	check("svc-a limit 2", list("svc-a", 2), 3, 1)
	check("all services", list("", 0), 3, 2, 1, 0)
	check("unknown service", list("nope", 0))
}

func sampleDecision(service string, n int) store.Decision {
	return store.Decision{
		Service: service, Action: "rollback", FromVersion: "v2", ToVersion: "v1",
		Reason: "error rate 12.0% > 5.0% (baseline 0.1%)", IncidentID: "INC-0001",
		Snapshot: map[string]float64{
			"error_rate": 0.12, "p99_ms": 840.5 + float64(n),
			"baseline.error_rate": 0.001, "baseline.p99_ms": 120,
		},
		CreatedAt: at(n),
	}
}

func checkDecision(t *testing.T, what string, got, want store.Decision) {
	t.Helper()
	eq(t, what+".ID", got.ID, want.ID)
	eq(t, what+".Service", got.Service, want.Service)
	eq(t, what+".Action", got.Action, want.Action)
	eq(t, what+".FromVersion", got.FromVersion, want.FromVersion)
	eq(t, what+".ToVersion", got.ToVersion, want.ToVersion)
	eq(t, what+".Reason", got.Reason, want.Reason)
	eq(t, what+".IncidentID", got.IncidentID, want.IncidentID)
	eq(t, what+".Status", got.Status, want.Status)
	eq(t, what+".Result", got.Result, want.Result)
	sameTime(t, what+".CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+".DoneAt", got.DoneAt, want.DoneAt)
	checkSnapshot(t, what+".Snapshot", got.Snapshot, want.Snapshot)
}

// checkSnapshot compares maps treating nil and empty alike and NaN as equal
// to NaN.
func checkSnapshot(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || (g != w && !(math.IsNaN(g) && math.IsNaN(w))) {
			t.Errorf("%s[%q] = %v (present %v), want %v", what, k, g, ok, w)
		}
	}
}

func pending(t *testing.T, s store.Store) []store.Decision {
	t.Helper()
	got, err := s.PendingDecisions(t.Context())
	must(t, "PendingDecisions", err)
	return got
}

// testDecisionLifecycle walks the pending→done/failed protocol the
// controller's crash recovery depends on.
func testDecisionLifecycle(t *testing.T, s store.Store) {
	ctx := t.Context()
	d1 := sampleDecision("svc-a", 1)
	d1.Status = store.DecisionDone // must be ignored: recorded as pending
	id1, err := s.RecordDecision(ctx, d1)
	must(t, "RecordDecision", err)
	d2 := sampleDecision("svc-b", 2)
	d2.Snapshot = nil
	id2, err := s.RecordDecision(ctx, d2)
	must(t, "RecordDecision", err)
	if id1 == id2 {
		t.Fatalf("RecordDecision returned the same ID %d twice", id1)
	}
	d1.ID, d1.Status = id1, store.DecisionPending
	d2.ID, d2.Status = id2, store.DecisionPending

	got := pending(t, s)
	if len(got) != 2 {
		t.Fatalf("PendingDecisions: %d, want 2", len(got))
	}
	checkDecision(t, "pending[0]", got[0], d1)
	checkDecision(t, "pending[1]", got[1], d2)

	must(t, "FinishDecision", s.FinishDecision(ctx, id1, store.DecisionDone, "switched to v1", at(3)))
	got = pending(t, s)
	if len(got) != 1 || got[0].ID != id2 {
		t.Fatalf("PendingDecisions after finishing %d = %+v, want only %d", id1, got, id2)
	}
	d1.Status, d1.Result, d1.DoneAt = store.DecisionDone, "switched to v1", at(3)
	list, err := s.ListDecisions(ctx, "svc-a", 0)
	must(t, "ListDecisions", err)
	if len(list) != 1 {
		t.Fatalf("ListDecisions(svc-a): %d, want 1", len(list))
	}
	checkDecision(t, "done", list[0], d1)

	err = s.FinishDecision(ctx, id1, store.DecisionFailed, "again", at(4))
	wantErr(t, "second FinishDecision", err, store.ErrAlreadyFinished)
	must(t, "FinishDecision failed", s.FinishDecision(ctx, id2, store.DecisionFailed, "proxy unreachable", at(5)))
	err = s.FinishDecision(ctx, id2, store.DecisionDone, "again", at(6))
	wantErr(t, "FinishDecision after failed", err, store.ErrAlreadyFinished)
	eq(t, "pending after all finished", len(pending(t, s)), 0)

	list, err = s.ListDecisions(ctx, "svc-b", 0)
	must(t, "ListDecisions", err)
	d2.Status, d2.Result, d2.DoneAt = store.DecisionFailed, "proxy unreachable", at(5)
	if len(list) != 1 {
		t.Fatalf("ListDecisions(svc-b): %d, want 1", len(list))
	}
	checkDecision(t, "failed", list[0], d2)
}

func testDecisionFinishErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.FinishDecision(ctx, 424242, store.DecisionDone, "", at(1))
	wantErr(t, "FinishDecision(unknown)", err, store.ErrNotFound)

	id, err := s.RecordDecision(ctx, sampleDecision("svc-a", 1))
	must(t, "RecordDecision", err)
	for _, status := range []string{store.DecisionPending, "bogus", ""} {
		if err := s.FinishDecision(ctx, id, status, "", at(2)); err == nil {
			t.Errorf("FinishDecision(status %q) succeeded, want an error", status)
		}
	}
	if got := pending(t, s); len(got) != 1 || got[0].ID != id {
		t.Errorf("decision no longer pending after rejected finishes: %+v", got)
	}
}

// testDecisionFinishRace is the exactly-once guarantee: of many concurrent
// finishers, one wins and every other is told ErrAlreadyFinished.
func testDecisionFinishRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	id, err := s.RecordDecision(ctx, sampleDecision("svc-a", 1))
	must(t, "RecordDecision", err)
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.FinishDecision(ctx, id, store.DecisionDone, fmt.Sprint(i), at(2))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrAlreadyFinished):
			t.Errorf("finisher %d: %v, want nil or ErrAlreadyFinished", i, err)
		}
	}
	eq(t, "successful finishes", won, 1)
}

func testListDecisions(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []int64
	for i, svc := range []string{"svc-a", "svc-a", "svc-b", "svc-a"} {
		id, err := s.RecordDecision(ctx, sampleDecision(svc, i))
		must(t, "RecordDecision", err)
		ids = append(ids, id)
	}
	check := func(what, service string, limit int, want ...int64) {
		t.Helper()
		got, err := s.ListDecisions(ctx, service, limit)
		must(t, "ListDecisions", err)
		var gotIDs []int64
		for _, d := range got {
			gotIDs = append(gotIDs, d.ID)
		}
		eq(t, what, fmt.Sprint(gotIDs), fmt.Sprint(want))
	}
	check("svc-a newest first", "svc-a", 0, ids[3], ids[1], ids[0])
	check("svc-a limit 2", "svc-a", 2, ids[3], ids[1])
	check("all services", "", 0, ids[3], ids[2], ids[1], ids[0])
	check("unknown service", "nope", 0)
}

// testDecisionSnapshotNonFinite: a ratio over zero samples is NaN and a
// latency with no data may be +Inf; recording the decision must not fail on
// them, or the action would run without its pending record.
func testDecisionSnapshotNonFinite(t *testing.T, s store.Store) {
	d := sampleDecision("svc-a", 1)
	d.Snapshot = map[string]float64{"error_rate": math.NaN(), "p99_ms": math.Inf(1),
		"delta": math.Inf(-1), "zero": 0, "tiny": 5e-324, "big": math.MaxFloat64}
	id, err := s.RecordDecision(t.Context(), d)
	must(t, "RecordDecision", err)
	got := pending(t, s)
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("PendingDecisions = %+v, want decision %d", got, id)
	}
	checkSnapshot(t, "Snapshot", got[0].Snapshot, d.Snapshot)
}

// testDecide: a decision and the state saying it is in flight are stored
// together; a state the store refuses takes the decision with it (no
// decision without its state, which would be re-executed on a restart
// that never knew the service was reverting); LinkDecision names the
// incident afterwards.
func testDecide(t *testing.T, s store.Store) {
	ctx := t.Context()
	st := sampleService("checkout")
	st.State = "reverting"
	d := sampleDecision("checkout", 1)
	d.IncidentID = ""
	id, err := s.Decide(ctx, d, st)
	must(t, "Decide", err)
	got, err := s.LoadService(ctx, "checkout")
	must(t, "LoadService", err)
	checkService(t, got, st)
	pending, err := s.PendingDecisions(ctx)
	must(t, "PendingDecisions", err)
	if len(pending) != 1 || pending[0].ID != id || pending[0].IncidentID != "" {
		t.Fatalf("pending after Decide: %+v", pending)
	}
	must(t, "LinkDecision", s.LinkDecision(ctx, id, "INC-0042"))
	ds, err := s.ListDecisions(ctx, "checkout", 1)
	must(t, "ListDecisions", err)
	eq(t, "linked incident", ds[0].IncidentID, "INC-0042")
	if err := s.LinkDecision(ctx, id+1000, "INC-0042"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LinkDecision of an unknown decision: %v, want ErrNotFound", err)
	}
	bad := sampleService("")
	if _, err := s.Decide(ctx, sampleDecision("other", 2), bad); err == nil {
		t.Fatal("Decide with an unnamed service succeeded")
	}
	pending, err = s.PendingDecisions(ctx)
	must(t, "PendingDecisions", err)
	if len(pending) != 1 {
		t.Fatalf("a refused Decide left a decision behind: %+v", pending)
	}
}
