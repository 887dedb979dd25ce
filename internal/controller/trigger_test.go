package controller

import (
	"context"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// OnEvidence fires on a poke without waiting for its interval, on the
// interval without a poke, and coalesces pokes nobody took yet.
func TestOnEvidenceFiresOnPokeOrInterval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan struct{}, 1)
	out := OnEvidence(ch, time.Hour)(ctx)
	ch <- struct{}{}
	select {
	case <-out:
	case <-time.After(5 * time.Second):
		t.Fatal("a poke did not fire within 5 s (the interval is an hour)")
	}
	for range 100 { // a burst while nobody evaluates
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	select {
	case <-out:
	case <-time.After(5 * time.Second):
		t.Fatal("a burst of pokes did not fire")
	}
	if cap(out) != 1 {
		t.Fatalf("trigger channel holds %d: pokes must coalesce into one pending evaluation", cap(out))
	}

	ticks := OnEvidence(make(chan struct{}), 10*time.Millisecond)(ctx)
	select {
	case <-ticks:
	case <-time.After(5 * time.Second):
		t.Fatal("the interval did not fire without pokes")
	}
}

// Wired as a service's trigger, a poke makes Run judge at once: a bad
// version is reverted on its evidence, not at the next (hour-long) tick.
func TestRunEvaluatesOnEvidence(t *testing.T) {
	pol := testPolicy()
	pol.Interval = time.Hour
	r := newRig(t, pol, "v1").boot()
	r.deploy("v2")
	if err := r.push.Push("svc", "v2", map[string]float64{signal.ErrorRate: 0.6}, 200, r.clk.Now()); err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 1)
	r.svc.deps.Trigger = OnEvidence(ch, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	ch <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for r.svc.Status().Active != "v1" {
		if time.Now().After(deadline) {
			t.Fatalf("not reverted after a poke: %+v", r.svc.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMergeFiresForEither(t *testing.T) {
	a, b := make(chan time.Time), make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := Merge(func(context.Context) <-chan time.Time { return a }, func(context.Context) <-chan time.Time { return b },
		func(context.Context) <-chan time.Time { return nil })(ctx)
	for i, ch := range []chan time.Time{a, b, a} {
		ch <- time.Unix(int64(i), 0)
		if got := <-out; !got.Equal(time.Unix(int64(i), 0)) {
			t.Fatalf("fire %d: got %v", i, got)
		}
	}
}
