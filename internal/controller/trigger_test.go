package controller

import (
	"context"
	"sync/atomic"
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
	out := OnEvidence(ch, time.Hour, Idle{})(ctx)
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

	ticks := OnEvidence(make(chan struct{}), 10*time.Millisecond, Idle{})(ctx)
	select {
	case <-ticks:
	case <-time.After(5 * time.Second):
		t.Fatal("the interval did not fire without pokes")
	}
}

// With Idle, a quiet tick within Every of the last evaluation is skipped
// (and slows the ticker down); a poke evaluates at once and restores the
// interval; activity at a tick evaluates again.
func TestOnEvidenceSlowsDownWhenQuiet(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var quiet atomic.Bool
	quiet.Store(true)
	calls := make(chan struct{}, 1000)
	counted := func() bool {
		select {
		case calls <- struct{}{}:
		default:
		}
		return quiet.Load()
	}
	ch := make(chan struct{}, 1)
	out := OnEvidence(ch, time.Millisecond, Idle{Every: time.Hour, Quiet: counted})(ctx)
	wait := func(out <-chan time.Time, what string) {
		t.Helper()
		select {
		case <-out:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not evaluate", what)
		}
	}
	wait(out, "the first tick") // nothing evaluated yet: an hour has passed
	<-calls
	ch <- struct{}{}
	wait(out, "a poke while quiet")
	<-calls // the next tick, at the interval again, finds it quiet
	select {
	case <-out:
		t.Fatal("a quiet tick within Every evaluated")
	default:
	}

	quiet.Store(true)
	busy := OnEvidence(make(chan struct{}), time.Millisecond, Idle{Every: 5 * time.Millisecond, Quiet: counted})(ctx)
	wait(busy, "the first tick")
	quiet.Store(false)
	wait(busy, "a tick with activity")
	wait(busy, "the next tick with activity")
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
	r.svc.deps.Trigger = OnEvidence(ch, time.Hour, Idle{})
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
