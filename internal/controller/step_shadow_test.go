package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store"
)

func testShadow() *config.Shadow {
	return &config.Shadow{Duration: 30 * time.Second, Percent: 100, Methods: config.DefaultShadowMethods}
}

// shadowStep runs one step with the test shadow (and canary, if given).
func shadowStep(t *testing.T, m machine, in input, at time.Duration, canary *config.Canary) (machine, []string) {
	t.Helper()
	next, fx, err := stepStrategy(m, in, epoch.Add(at), testPolicy(), config.Strategy{Shadow: testShadow(), Canary: canary})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range fx {
		got = append(got, short(e))
		if tr, ok := e.(transition); ok && !tr.from.CanMove(tr.to) {
			t.Errorf("effect %s is not an allowed move", e)
		}
	}
	return next, got
}

// inShadow is a machine judging v2 in shadow against v1.
func inShadow() machine {
	return mach(StateShadowing, "v1", "v2").with(func(m *machine) {
		m.Canary = store.Canary{Stable: "v1", Since: epoch}
	})
}

// TestShadowDeploy: a deploy with strategy.shadow starts copies, judges
// the new version and keeps every user on the stable one.
func TestShadowDeploy(t *testing.T) {
	next, fx := shadowStep(t, mach(StateStable, "v1"), deployCmd{version: "v2", url: "http://v2.test", actor: "ci"}, 0, testCanary())
	wantFx(t, fx, "route register v2!", "deployment v2 by ci", "route shadow v2!", "state stable→shadowing", "route fallback ", "save!")
	if next.Active != "v2" || next.Canary.Stable != "v1" || next.State != StateShadowing {
		t.Fatalf("machine %+v", next)
	}
}

// TestShadowVerdicts: a bad verdict stops the deploy with a shadow
// incident, the version known-bad and no traffic moved; healthy before
// duration waits; healthy after it goes to the canary's first step, or
// without a canary to all traffic.
func TestShadowVerdicts(t *testing.T) {
	next, fx := shadowStep(t, inShadow(), bad, 5*time.Second, testCanary())
	wantFx(t, fx, "route stop-shadow ", "state shadowing→stable", "open shadow minor → chain", "decision shadow_reject v2→v1 @chain",
		"count shadow_reject", "finish done", "route fallback ", "save!", "log WARN deploy caught in shadow")
	if next.Active != "v1" || next.State != StateStable || !next.Versions[1].KnownBad ||
		!strings.Contains(next.Versions[1].BadReason, "caught in shadow") || next.Canary != (store.Canary{}) {
		t.Fatalf("after a bad verdict: %+v", next)
	}
	if _, fx = shadowStep(t, inShadow(), healthy, 10*time.Second, testCanary()); len(fx) != 0 {
		t.Fatalf("healthy before duration moved on: %v", fx)
	}
	next, fx = shadowStep(t, inShadow(), healthy, 30*time.Second, testCanary())
	wantFx(t, fx, "decision canary_step v1→v2 @", "count canary_step", "weight")
	if !next.Moving || next.State != StateShadowing {
		t.Fatalf("canary decided: %+v", next)
	}
	next, fx = shadowStep(t, inShadow(), healthy, 30*time.Second, nil)
	wantFx(t, fx, "route activate v2!", "state shadowing→watching", "route fallback v1", "save!")
	if next.Active != "v2" || next.Canary != (store.Canary{}) {
		t.Fatalf("blue-green after shadow: %+v", next)
	}
	next, fx = shadowStep(t, inShadow(), inconclusive, 300*time.Second, nil)
	wantFx(t, fx, "open shadow_held minor", "log WARN shadow held")
	if next.State != StateShadowing {
		t.Fatalf("held: %+v", next)
	}
	if _, fx = shadowStep(t, next, inconclusive, 301*time.Second, nil); len(fx) != 0 {
		t.Fatalf("held twice: %v", fx)
	}
	paused := inShadow().with(func(m *machine) { m.Paused = true })
	next, fx = shadowStep(t, paused, bad, 5*time.Second, nil)
	if next.State != StateShadowing || len(fx) != 2 || !strings.HasPrefix(fx[0], "open degraded") {
		t.Fatalf("paused: %v %+v", fx, next)
	}
}

// TestShadowPolicyAddsMismatchRule: with a comparison the shadow's policy
// judges shadow_mismatch_rate at max_mismatch, alone (critical); without
// one, or outside a shadow, the policy is the service's.
func TestShadowPolicyAddsMismatchRule(t *testing.T) {
	base := DetectPolicy(testPolicy())
	sh := testShadow()
	if got := shadowPolicy(base, sh); len(got.Rules) != len(base.Rules) {
		t.Fatalf("no comparison, rules %v", got.Rules)
	}
	sh.Compare = config.ShadowCompare{Status: true, MaxMismatch: 0.05}
	got := shadowPolicy(base, sh)
	last := got.Rules[len(got.Rules)-1]
	if len(got.Rules) != len(base.Rules)+1 || last.Metric != "shadow_mismatch_rate" || *last.Max != 0.05 || *last.Critical != 0.05 {
		t.Fatalf("rules %+v", got.Rules)
	}
	if len(base.Rules) == len(got.Rules) {
		t.Fatal("the service's policy was changed in place")
	}
}
