package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
)

// holdRevert makes the next reverts wait until release is called, and
// returns a channel announcing each one as it starts.
func (r *rig) holdRevert() (started <-chan revert.Request, release func()) {
	gate, ch := make(chan struct{}), make(chan revert.Request, 4)
	r.target.mu.Lock()
	r.target.gate, r.target.started = gate, ch
	r.target.mu.Unlock()
	return ch, func() { close(gate) }
}

// TestCommandsDuringRevert: while a revert is in flight (the service mutex
// is released for it), deploy, resume and a manual rollback are refused with
// ErrConflict naming the state, status is served at once, and pause is
// accepted and takes effect when the revert completes: the version reverted
// to is then bad too, and nothing more is done automatically.
func TestCommandsDuringRevert(t *testing.T) {
	r := newRig(t, testPolicy(), "v0", "v1").boot()
	r.deploy("v2")
	r.errRate["v2"] = 0.5
	started, release := r.holdRevert()
	done := make(chan Status)
	go func() { done <- r.tick() }()
	req := <-started
	if req.From != "v2" || req.To != "v1" {
		t.Fatalf("revert %+v", req)
	}
	ctx := context.Background()
	if s := r.svc.Status(); s.State != StateReverting || s.Active != "v2" {
		t.Fatalf("status during the revert: %+v", s)
	}
	for name, err := range map[string]error{
		"deploy":   r.svc.Deploy(ctx, "v3", "http://v3.test", "ann"),
		"resume":   r.svc.Resume(ctx, "ann"),
		"rollback": func() error { _, err := r.svc.Rollback(ctx, "v0", "", "ann"); return err }(),
	} {
		wantErrIs(t, name, err, ErrConflict)
		if !strings.Contains(err.Error(), "svc is reverting") {
			t.Errorf("%s: %q does not name the state", name, err)
		}
	}
	r.svc.Observed(ctx, "v3", "img", "") // a rollout seen mid-revert is ignored too
	if err := r.svc.Pause(ctx, "ann"); err != nil {
		t.Fatalf("pause during revert: %v", err)
	}
	if s := r.svc.Status(); !s.Paused || s.State != StateReverting {
		t.Fatalf("pause not recorded at once: %+v", s)
	}
	release()
	s := <-done
	if s.State != StateVerifying || s.Active != "v1" || !s.Paused {
		t.Fatalf("after the revert: %+v", s)
	}
	r.errRate["v1"] = 0.5
	for range 4 {
		r.tick()
	}
	if s := r.svc.Status(); s.Active != "v1" || len(r.target.requests()) != 1 {
		t.Fatalf("paused service fell back: %+v", s)
	}
	var said bool
	for _, i := range r.incidents() {
		said = said || (i.Kind == incident.KindDegraded && i.FromVersion == "v1")
	}
	if !said {
		t.Fatal("no incident says v1 is bad and nothing was done")
	}
	if deps, _ := r.st.ListDeployments(ctx, "svc", 0); len(deps) != 1 {
		t.Fatalf("a refused deploy was recorded: %+v", deps)
	}
}

// TestStatusDuringSlowObserve: a signal read that hangs (a Prometheus
// timeout) holds no lock: status and commands are served meanwhile.
func TestStatusDuringSlowObserve(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	g := &gatedSource{OptionalSource: r.push, version: "v2", entered: make(chan struct{}), release: make(chan struct{})}
	r.signals = g
	r.boot()
	r.deploy("v2")
	done := make(chan Status)
	go func() { done <- r.tick() }()
	<-g.entered
	// Each of these would wait for the read if the tick held the mutex; the
	// read is released only after they returned.
	if s := r.svc.Status(); s.Active != "v2" {
		t.Fatalf("status %+v", s)
	}
	if err := r.svc.Pause(context.Background(), "ann"); err != nil {
		t.Fatal(err)
	}
	_ = r.svc.LiveVersions()
	close(g.release)
	if s := <-done; !s.Paused || s.Verdict != "healthy" {
		t.Fatalf("after the read: %+v", s)
	}
}

// TestStaleVerdictIsDropped: a verdict observed about v2 is not applied
// once v3 was deployed meanwhile, however bad v2 looked.
func TestStaleVerdictIsDropped(t *testing.T) {
	r := newRig(t, testPolicy(), "v1")
	g := &gatedSource{OptionalSource: r.push, version: "v2", entered: make(chan struct{})}
	r.signals = g
	r.boot()
	r.deploy("v2")
	first := r.tick() // a verdict on record, before v2 turns bad
	r.errRate["v2"] = 0.5
	g.release = make(chan struct{})
	done := make(chan Status)
	go func() { done <- r.tick() }()
	<-g.entered
	r.deploy("v3")
	close(g.release)
	s := <-done
	if s.Active != "v3" || s.State != StateWatching || len(r.target.requests()) != 0 || len(r.incidents()) != 0 {
		t.Fatalf("a verdict about v2 was applied after v3 was deployed: %+v", s)
	}
	if !s.VerdictAt.Equal(first.VerdictAt) {
		t.Fatalf("the dropped verdict was recorded: at %v, want %v", s.VerdictAt, first.VerdictAt)
	}
	if !strings.Contains(r.logs.String(), "verdict dropped") {
		t.Fatal("dropped verdict not logged")
	}
}

// TestRunEvaluates: Run evaluates each time Deps.Trigger fires, and each
// time Deps.Also fires (a scrape landing beside the heartbeat) with no
// goroutine merging the two; three firings on a failing v2 revert it.
func TestRunEvaluates(t *testing.T) {
	for _, on := range []string{"Trigger", "Also"} {
		t.Run(on, func(t *testing.T) {
			r := newRig(t, testPolicy(), "v1")
			never, fire := make(chan time.Time), make(chan time.Time)
			r.boot()
			r.svc.deps.Trigger = func(context.Context) <-chan time.Time { return fire }
			if on == "Also" {
				r.svc.deps.Trigger = func(context.Context) <-chan time.Time { return never }
				r.svc.deps.Also = func(context.Context) <-chan time.Time { return fire }
			}
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { r.svc.Run(ctx); close(stopped) }()
			r.deploy("v2")
			r.errRate["v2"] = 0.5
			for range 3 {
				now := r.clk.Advance(time.Second)
				if err := r.push.Push("svc", "v2", map[string]float64{"error_rate": 0.5}, 100+int64(now.Second()), now); err != nil {
					t.Fatal(err)
				}
				fire <- now // Run takes the next one only after this evaluation
			}
			fire <- r.clk.Now()
			cancel()
			<-stopped
			if s := r.svc.Status(); s.Active != "v1" {
				t.Fatalf("three firings of %s did not revert: %+v", on, s)
			}
		})
	}
}
