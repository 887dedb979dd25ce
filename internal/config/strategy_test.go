package config

import (
	"slices"
	"testing"
	"time"
)

func TestCanaryDefaults(t *testing.T) {
	cfg := mustParse(t, mutate(t, "    policy:", "    strategy:\n      canary: {sticky: {header: X-User-Id}}\n    policy:"), t.TempDir())
	c := cfg.Services[0].Strategy.Canary
	if c == nil || !slices.Equal(c.Steps, []int{1, 5, 25, 50, 100}) || c.MinStep != 10*time.Second ||
		c.MaxStep != 10*time.Minute || c.Sticky.Header != "X-User-Id" {
		t.Fatalf("canary defaults: %+v", c)
	}
	if cfg := mustParse(t, base, t.TempDir()); cfg.Services[0].Strategy.Canary != nil {
		t.Fatal("no strategy must stay blue-green")
	}
}

// TestCanaryProblems: each bad input is reported at its own path and line,
// all at once.
func TestCanaryProblems(t *testing.T) {
	src := mutate(t, "    policy:", `    strategy:
      canary:
        steps: [5, 1, 50]
        min_step: 1m
        max_step: 30s
        sticky: {header: X-User-Id, cookie: uid}
    policy:`)
	errs := parseErrs(t, src, t.TempDir())
	wantProblem(t, errs, "services[0].strategy.canary.steps", 14, "must end at 100")
	wantProblem(t, errs, "services[0].strategy.canary.steps[1]", 14, "steps must be increasing")
	wantProblem(t, errs, "services[0].strategy.canary.max_step", 16, "must be longer than min_step")
	wantProblem(t, errs, "services[0].strategy.canary.sticky", 17, "not both")
	errs = parseErrs(t, mutate(t, "    policy:", "    strategy:\n      canary: {steps: [0, 100], sticky: {cookie: 'a b'}}\n    policy:"), t.TempDir())
	wantProblem(t, errs, "services[0].strategy.canary.steps[0]", 13, "from 1 to 100")
	wantProblem(t, errs, "services[0].strategy.canary.sticky.cookie", 13, "not a cookie name")
	errs = parseErrs(t, mutate(t, "    policy:", "    strategy:\n      canary: {stepz: [100]}\n    policy:"), t.TempDir())
	wantProblem(t, errs, "services[0].strategy.canary.stepz", 13, "did you mean \"steps\"")
}
