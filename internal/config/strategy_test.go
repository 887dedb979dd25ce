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

func TestShadowDefaults(t *testing.T) {
	cfg := mustParse(t, mutate(t, "    policy:", "    strategy:\n      shadow: {compare: {status: true, json: [\"choices[0].finish_reason\"]}}\n      canary: {}\n    policy:"), t.TempDir())
	s := cfg.Services[0].Strategy.Shadow
	if s == nil || s.Duration != 30*time.Second || s.Percent != 100 || !slices.Equal(s.Methods, []string{"GET", "HEAD", "OPTIONS"}) ||
		s.MaxBody != 64<<10 || s.Backlog != 256 || s.UnsafeMethods || !s.Compare.Status || s.Compare.JSON[0] != "choices[0].finish_reason" {
		t.Fatalf("shadow defaults: %+v", s)
	}
	if cfg.Services[0].Strategy.Canary == nil {
		t.Fatal("shadow then canary: the canary is lost")
	}
	cfg = mustParse(t, mutate(t, "    policy:", "    strategy:\n      shadow: {methods: [GET, POST], unsafe_methods: true}\n    policy:"), t.TempDir())
	if !slices.Equal(cfg.Services[0].Strategy.Shadow.Methods, []string{"GET", "POST"}) {
		t.Fatal("POST with unsafe_methods must be accepted")
	}
}

// TestShadowProblems: a shadow of POST without the opt-in names the field
// and the fix; every other bad key is reported at its own path, at once.
func TestShadowProblems(t *testing.T) {
	src := mutate(t, "    policy:", `    strategy:
      shadow:
        duration: 0s
        percent: 101
        methods: [GET, POST, get]
        max_body: -1
        backlog: 0
        compare: {json: ["choices[x]"]}
    policy:`)
	errs := parseErrs(t, src, t.TempDir())
	wantProblem(t, errs, "services[0].strategy.shadow.duration", 14, "must be positive")
	wantProblem(t, errs, "services[0].strategy.shadow.percent", 15, "from 1 to 100")
	wantProblem(t, errs, "services[0].strategy.shadow.methods[1]", 16, "unsafe_methods: true")
	wantProblem(t, errs, "services[0].strategy.shadow.methods[2]", 16, "not an HTTP method")
	wantProblem(t, errs, "services[0].strategy.shadow.max_body", 17, "must not be negative")
	wantProblem(t, errs, "services[0].strategy.shadow.backlog", 18, "at least 1")
	wantProblem(t, errs, "services[0].strategy.shadow.compare.json[0]", 19, "choices[0].finish_reason")
	errs = parseErrs(t, mutate(t, "    policy:", "    strategy:\n      shadow: {methodz: [GET]}\n    policy:"), t.TempDir())
	wantProblem(t, errs, "services[0].strategy.shadow.methodz", 13, "did you mean \"methods\"")
}

// TestShadowNeedsTheSwitch: only the built-in switch copies requests.
func TestShadowNeedsTheSwitch(t *testing.T) {
	src := `services:
  - name: llm-api
    target:
      kubernetes: {name: x}
    strategy:
      shadow: {}
`
	errs := parseErrs(t, src, "")
	wantProblem(t, errs, "services[0].strategy.shadow", 6, "needs the built-in switch")
}
