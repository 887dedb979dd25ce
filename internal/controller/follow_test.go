package controller

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ripcord/ripcord/internal/store"
)

// TestFollowMirrorsWithoutWriting: a replica that does not act follows
// what the acting one saved — its router on the stored active version, a
// pending decision left alone for the leader — and writes nothing; a
// change that does not move traffic (a new incident id) does not touch
// the router again.
func TestFollowMirrorsWithoutWriting(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, testPolicy(), "v1", "v2")
	now := r.clk.Now()
	st := store.ServiceState{Name: "svc", Active: "v1", State: string(StateReverting), WatchSince: now, UpdatedAt: now,
		Versions: []store.Version{{Name: "v1", URL: "http://v1.test", AddedAt: now}, {Name: "v2", URL: "http://v2.test", AddedAt: now, KnownBad: true}}}
	decID, err := r.st.Decide(ctx, store.Decision{Service: "svc", Action: ActionRollback, FromVersion: "v2", ToVersion: "v1"}, st)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := r.st.LastEventSeq(ctx)
	follower := New(r.cfg, Deps{Store: r.st, Target: r.target, Router: r.router, Now: r.clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err := follower.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	if active, _ := r.router.live(); active != "v1" {
		t.Fatalf("router on %q after Follow, want the stored v1", active)
	}
	if s := follower.Status(); s.Active != "v1" || s.State != StateReverting {
		t.Fatalf("status %s on %s, want reverting on v1", s.State, s.Active)
	}
	pending, _ := r.st.PendingDecisions(ctx)
	if len(pending) != 1 || pending[0].ID != decID {
		t.Fatalf("pending decisions %+v: Follow must leave the leader's decision alone", pending)
	}
	if after, _ := r.st.LastEventSeq(ctx); after != before {
		t.Fatalf("Follow wrote events: seq %d → %d", before, after)
	}
	if len(r.target.requests()) != 0 {
		t.Fatalf("Follow reverted: %+v", r.target.requests())
	}
	activations := len(r.router.activations)
	st.IncidentID = "INC-0001"
	if err := r.st.SaveService(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := follower.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r.router.activations); n != activations {
		t.Fatalf("a change that moves no traffic activated again (%d → %d activations)", activations, n)
	}
	st.Active, st.State = "v2", string(StateWatching)
	if err := r.st.SaveService(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := follower.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	if active, _ := r.router.live(); active != "v2" {
		t.Fatalf("router on %q, want v2 after the leader moved it", active)
	}
}
