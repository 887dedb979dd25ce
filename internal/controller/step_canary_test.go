package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store"
)

func testCanary() *config.Canary {
	return &config.Canary{Steps: []int{1, 5, 25, 50, 100}, MinStep: 10 * time.Second, MaxStep: time.Minute}
}

// canaryStep runs one step with the test canary and returns the machine and
// the effects in short form; the input machine must come back untouched.
func canaryStep(t *testing.T, m machine, in input, at time.Duration) (machine, []string, error) {
	t.Helper()
	before := deepCopy(m)
	next, fx, err := stepWith(m, in, epoch.Add(at), testPolicy(), testCanary())
	if !slices.EqualFunc(m.Versions, before.Versions, func(a, b store.Version) bool { return a == b }) || m.State != before.State {
		t.Fatal("step changed its input")
	}
	var got []string
	for _, e := range fx {
		got = append(got, short(e))
		if tr, ok := e.(transition); ok && !tr.from.CanMove(tr.to) {
			t.Errorf("effect %s is not an allowed move", e)
		}
	}
	return next, got, err
}

func wantFx(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("effects\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// recorded is the decision the last recordDecision of fx stored, as the
// executor hands it back with the target's answer.
func recorded(t *testing.T, m machine, in input, at time.Duration) store.Decision {
	t.Helper()
	_, fx, err := stepWith(m, in, epoch.Add(at), testPolicy(), testCanary())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fx {
		if r, ok := e.(recordDecision); ok {
			d := r.d
			d.ID = 7
			return d
		}
	}
	t.Fatalf("no decision recorded in %v", fx)
	return store.Decision{}
}

// onCanary is a machine on the given step of a canary of v2 against v1.
func onCanary(step int) machine {
	return mach(StateCanary, "v1", "v2").with(func(m *machine) {
		m.Canary = store.Canary{Stable: "v1", Step: step, Since: epoch.Add(-time.Minute)}
	})
}

// TestCanaryDeployDecidesBeforeMoving: a deploy with strategy.canary
// records the first share's decision, then asks the target; the canary
// state begins only when the target confirms.
func TestCanaryDeployDecidesBeforeMoving(t *testing.T) {
	m := mach(StateStable, "v1")
	next, fx, err := canaryStep(t, m, deployCmd{version: "v2", url: "http://v2.test", actor: "ci"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantFx(t, fx, "route register v2!", "deployment v2 by ci", "decision canary_step v1→v2 @", "count canary_step", "weight")
	if next.State != StateStable || next.Active != "v1" || !next.Moving {
		t.Fatalf("before the target answered: %+v", next)
	}
	d := recorded(t, m, deployCmd{version: "v2", url: "http://v2.test", actor: "ci"}, 0)
	if d.Snapshot[snapPercent] != 1 || d.Snapshot[snapStep] != 0 {
		t.Fatalf("first share decision: %+v", d.Snapshot)
	}
	// Anything else meanwhile is refused, not raced.
	if _, _, err := canaryStep(t, next, deployCmd{version: "v1", actor: "ci"}, time.Millisecond); !errors.Is(err, ErrConflict) {
		t.Fatalf("deploy while the share is being set: %v", err)
	}
	if _, _, err := canaryStep(t, next, promoteCmd{actor: "ann"}, time.Millisecond); !errors.Is(err, ErrInvalid) {
		t.Fatalf("promote before the canary began: %v", err)
	}
	got, fx, err := canaryStep(t, next, weighted{d: d}, 2*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	wantFx(t, fx, "finish done", "state stable→canary", "route fallback v1", "log INFO canary share set", "save!")
	if got.State != StateCanary || got.Active != "v2" || got.Canary.Stable != "v1" || got.Canary.Step != 0 ||
		got.Moving || got.Gen == next.Gen || !got.WatchSince.Equal(epoch.Add(2*time.Millisecond)) {
		t.Fatalf("after the first share: %+v", got)
	}
}

// TestCanaryAdvancesOnEvidence: a healthy verdict before min_step does
// nothing; after it the next share is decided. Inconclusive never advances.
func TestCanaryAdvancesOnEvidence(t *testing.T) {
	m := onCanary(1)
	if _, fx, _ := canaryStep(t, m, healthy, 9*time.Second); len(fx) != 0 {
		t.Fatalf("healthy before min_step: %v", fx)
	}
	if _, fx, _ := canaryStep(t, m, inconclusive, 30*time.Second); len(fx) != 0 {
		t.Fatalf("inconclusive after min_step: %v", fx)
	}
	_, fx, err := canaryStep(t, m, healthy, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantFx(t, fx, "decision canary_step v1→v2 @", "count canary_step", "weight")
	d := recorded(t, m, healthy, 10*time.Second)
	if d.Snapshot[snapPercent] != 25 || d.Snapshot[snapStep] != 2 || !strings.Contains(d.Reason, "healthy at 5%") {
		t.Fatalf("step decision: %+v %q", d.Snapshot, d.Reason)
	}
	next, _, _ := canaryStep(t, m.with(func(m *machine) { m.Moving = true }), weighted{d: d}, 11*time.Second)
	if next.Canary.Step != 2 || next.State != StateCanary || next.Canary.Since != m.Canary.Since {
		t.Fatalf("after step up: %+v", next.Canary)
	}
	// The last share ends the canary: a blue-green watch of v2 from now.
	last := onCanary(3)
	d = recorded(t, last, healthy, 10*time.Second)
	next, fx, _ = canaryStep(t, last, weighted{d: d}, 11*time.Second)
	wantFx(t, fx, "finish done", "state canary→watching", "route fallback v1", "log INFO canary share set", "save!")
	if next.Canary != (store.Canary{}) || next.Active != "v2" || next.State != StateWatching {
		t.Fatalf("after 100%%: %+v", next)
	}
}

// TestCanaryBadGoesToStable: a bad verdict at any step is an automatic
// rollback to the stable version — even inside a cooldown, which guards
// against thrashing, not against users meeting a bad canary — and the
// canary ends with the revert.
func TestCanaryBadGoesToStable(t *testing.T) {
	m := onCanary(0).with(func(m *machine) {
		m.Versions = append([]store.Version{{Name: "v0"}}, m.Versions...)
		m.CooldownUntil = epoch.Add(time.Hour)
	})
	_, fx, err := canaryStep(t, m, bad, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantFx(t, fx, fill(revertFx(ActionRollback, "v2", "v1", "chain"), StateCanary)...)
	d := store.Decision{ID: 3, Action: ActionRollback, FromVersion: "v2", ToVersion: "v1", Reason: "bad", CreatedAt: epoch}
	rev := m.with(func(m *machine) { m.State = StateReverting })
	next, fx, _ := canaryStep(t, rev, reverted{d: d}, 2*time.Second)
	if next.State != StateVerifying || next.Active != "v1" || next.Canary != (store.Canary{}) ||
		!next.Versions[findVersion(next.Versions, "v2")].KnownBad {
		t.Fatalf("after the revert: %+v", next)
	}
	if !slices.Contains(fx, "open rollback major → chain") {
		t.Fatalf("no rollback incident: %v", fx)
	}
}

// TestCanaryHeldAtMaxStep: no verdict by max_step holds the step and opens
// one minor incident for it.
func TestCanaryHeldAtMaxStep(t *testing.T) {
	m := onCanary(2)
	next, fx, _ := canaryStep(t, m, inconclusive, time.Minute)
	wantFx(t, fx, "open canary_held minor", "log WARN canary held")
	if next.Canary.Step != 2 || next.State != StateCanary {
		t.Fatalf("held canary moved: %+v", next)
	}
	if _, fx, _ := canaryStep(t, next, inconclusive, 2*time.Minute); len(fx) != 0 {
		t.Fatalf("second held verdict: %v", fx)
	}
}

// TestPromoteAndAbort: a person's promote sets 100 %, an abort 0 %: back
// to stable with no incident and the canary not marked bad.
func TestPromoteAndAbort(t *testing.T) {
	m := onCanary(1)
	d := recorded(t, m, promoteCmd{actor: "ann"}, time.Second)
	if d.Action != ActionPromote || d.Snapshot[snapPercent] != 100 {
		t.Fatalf("promote decision: %+v", d)
	}
	d = recorded(t, m, abortCmd{actor: "ann", reason: "wrong build"}, time.Second)
	if d.Action != ActionAbort || d.Snapshot[snapPercent] != 0 || !strings.Contains(d.Reason, "aborted by ann at 5%") ||
		!strings.Contains(d.Reason, "wrong build") {
		t.Fatalf("abort decision: %+v", d)
	}
	next, fx, _ := canaryStep(t, m.with(func(m *machine) { m.Moving = true }), weighted{d: d}, 2*time.Second)
	for _, e := range fx {
		if strings.Contains(e, "incident") || strings.Contains(e, "open") {
			t.Fatalf("abort touched an incident: %v", fx)
		}
	}
	if next.State != StateStable || next.Active != "v1" || next.Canary != (store.Canary{}) ||
		next.Versions[findVersion(next.Versions, "v2")].KnownBad {
		t.Fatalf("after abort: %+v", next)
	}
	if _, _, err := canaryStep(t, mach(StateWatching, "v1", "v2"), abortCmd{actor: "ann"}, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("abort without a canary: %v", err)
	}
	if _, _, err := canaryStep(t, m.with(func(m *machine) { m.Moving = true }), promoteCmd{actor: "ann"}, 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("promote while moving: %v", err)
	}
}

// TestCanaryShareFailureStays: a target that refuses the share leaves the
// canary on its step, the decision failed, and ready to try again.
func TestCanaryShareFailureStays(t *testing.T) {
	m := onCanary(1)
	d := recorded(t, m, healthy, 10*time.Second)
	next, fx, err := canaryStep(t, m.with(func(m *machine) { m.Moving = true }), weighted{d: d, err: errors.New("route gone")}, 11*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantFx(t, fx, "finish failed", "log ERROR setting the canary share failed")
	if next.Moving || next.Canary.Step != 1 || next.Gen != m.Gen {
		t.Fatalf("after a failed share: %+v", next)
	}
}

// TestCanaryRecoverPending: a share decision a crash left pending is set
// again (idempotent) and then applied.
func TestCanaryRecoverPending(t *testing.T) {
	d := store.Decision{ID: 9, Action: ActionCanaryStep, FromVersion: "v1", ToVersion: "v2",
		Snapshot: map[string]float64{snapPercent: 25, snapStep: 2}}
	next, fx, err := canaryStep(t, onCanary(1), recoverPending{d: d}, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantFx(t, fx, "log WARN completing canary decision interrupted by restart", "weight")
	if !next.Moving {
		t.Fatal("not moving while the share is re-set")
	}
}
