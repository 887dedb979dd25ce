package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

// acquireWhenFree retries Acquire until the other holder's lease ends: it
// waits on the database's answer, not on a sleep of our own.
func acquireWhenFree(t *testing.T, s *Store, name, holder string, ttl time.Duration) Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		l, err := s.Acquire(ctx, name, holder, ttl)
		if err == nil {
			return l
		}
		if !errors.Is(err, ErrLeaseHeld) {
			t.Fatalf("%s: %v", holder, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never got the lease", holder)
		case <-time.After(ttl / 20):
		}
	}
}

// TestDeposedLeaderIsFenced: two replicas (two store clients, two pools)
// on one PostgreSQL. A holds the lease and writes; while it runs, B is
// refused the lease; once A stops renewing, B takes over with a higher
// epoch, and A's late writes (a decision, finishing one, an incident
// event, a cursor) are all refused with ErrFenced, changing nothing.
func TestDeposedLeaderIsFenced(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	const ttl = 300 * time.Millisecond
	la, err := a.Acquire(ctx, "shard-0", "replica-a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if la, err = a.Acquire(ctx, "shard-0", "replica-a", ttl); err != nil || la.Epoch != 1 {
		t.Fatalf("renewal: %+v %v; want epoch 1 kept", la, err)
	}
	lastRenewal := time.Now()
	fa := a.Fenced(la)
	st := store.ServiceState{Name: "svc", Active: "v2", State: "reverting"}
	decID, err := fa.Decide(ctx, store.Decision{Service: "svc", Action: "rollback"}, st)
	if err != nil {
		t.Fatalf("leader's write: %v", err)
	}
	incID, err := fa.CreateIncident(ctx, incident.Incident{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "shard-0", "replica-b", ttl); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("B acquired a running lease: %v", err)
	}

	lb := acquireWhenFree(t, b, "shard-0", "replica-b", ttl)
	t.Logf("takeover %s after the holder's last renewal (ttl %s, retry every %s)", time.Since(lastRenewal), ttl, ttl/20)
	if lb.Epoch != la.Epoch+1 {
		t.Fatalf("takeover epoch %d, want %d", lb.Epoch, la.Epoch+1)
	}
	before, _ := b.LastEventSeq(ctx)
	late := map[string]error{
		"Decide": func() error {
			_, err := fa.Decide(ctx, store.Decision{Service: "svc", Action: "rollback"}, st)
			return err
		}(),
		"FinishDecision": fa.FinishDecision(ctx, decID, store.DecisionDone, "switched", time.Now()),
		"AppendEvent":    fa.AppendEvent(ctx, incID, incident.Event{Type: incident.EvRollbackDone}),
		"SetCursor":      fa.SetCursor(ctx, "slack", 99),
		"SaveService":    fa.SaveService(ctx, store.ServiceState{Name: "svc", Active: "v1"}),
	}
	for name, err := range late {
		if !errors.Is(err, ErrFenced) {
			t.Errorf("deposed leader's %s: %v, want ErrFenced", name, err)
		}
	}
	pending, _ := b.PendingDecisions(ctx)
	if len(pending) != 1 || pending[0].ID != decID {
		t.Fatalf("after the fenced writes, pending decisions %+v; want just %d, unfinished", pending, decID)
	}
	if after, _ := b.LastEventSeq(ctx); after != before {
		t.Fatalf("a fenced event was written: seq %d → %d", before, after)
	}
	if _, found, _ := b.Cursor(ctx, "slack"); found {
		t.Fatal("a fenced cursor was written")
	}
	// The new leader completes the interrupted decision, exactly once.
	fb := b.Fenced(lb)
	if err := fb.FinishDecision(ctx, decID, store.DecisionDone, "completed by replica-b", time.Now()); err != nil {
		t.Fatalf("new leader's write: %v", err)
	}
	// The deposed holder cannot take the lease back while B holds it.
	if _, err := a.Acquire(ctx, "shard-0", "replica-a", ttl); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("A took back a running lease: %v", err)
	}
}

// TestFenceExpiresWithTheLease: a holder that stopped renewing may not
// write even before anyone takes over.
func TestFenceExpiresWithTheLease(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.DSN(t))
	defer s.Close()
	l, err := s.Acquire(ctx, "shard-0", "replica-a", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	f := s.Fenced(l)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f.SetCursor(ctx, "c", 1)
		if errors.Is(err, ErrFenced) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("write with an expired lease: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling for the expiry: a positive event
	}
	if time.Now().Before(l.Deadline) {
		t.Fatal("refused before the holder's own deadline: the holder would act while the database refuses")
	}
}

// TestAssumeFencesTheOldHolder: a holder elected elsewhere (a Kubernetes
// Lease) assumes a lease another holder still has, unexpired: the epoch
// grows, the old holder's renewal and writes are refused, the new one's
// go through and its renewals keep the epoch.
func TestAssumeFencesTheOldHolder(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	defer a.Close()
	defer b.Close()
	const ttl = time.Minute
	la, err := a.Acquire(ctx, "shard-0", "replica-a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Assume(ctx, "shard-0", "replica-b", ttl)
	if err != nil || lb.Epoch != la.Epoch+1 || lb.Holder != "replica-b" {
		t.Fatalf("assume: %+v %v; want epoch %d", lb, err, la.Epoch+1)
	}
	if _, err := a.Renew(ctx, la, ttl); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("the old holder's renewal: %v, want ErrLeaseHeld", err)
	}
	st := store.ServiceState{Name: "svc", Active: "v1", State: "watching"}
	if _, err := a.Fenced(la).Decide(ctx, store.Decision{Service: "svc", Action: "rollback"}, st); !errors.Is(err, ErrFenced) {
		t.Errorf("the old holder's write: %v, want ErrFenced", err)
	}
	renewed, err := b.Renew(ctx, lb, ttl)
	if err != nil || renewed.Epoch != lb.Epoch {
		t.Fatalf("renewal: %+v %v; want epoch %d kept", renewed, err, lb.Epoch)
	}
	if _, err := b.Fenced(renewed).Decide(ctx, store.Decision{Service: "svc", Action: "rollback"}, st); err != nil {
		t.Errorf("the new holder's write: %v", err)
	}
	if l, err := a.Assume(ctx, "fresh", "replica-a", ttl); err != nil || l.Epoch != 1 {
		t.Errorf("assume a lease nobody had: %+v %v; want epoch 1", l, err)
	}
}
