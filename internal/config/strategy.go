package config

import (
	"time"
)

// Strategy is how a deploy reaches its users. Zero: blue-green, every
// request on the new version at once.
type Strategy struct {
	// Canary ramps the new version's share of traffic in steps, advancing
	// on evidence: after MinStep, once the sequential test has accepted the
	// new version as healthy at the current step.
	Canary *Canary `yaml:"canary"`
	// Shadow judges the new version on copies of live requests before any
	// user meets it (shadow.go); with Canary, the canary follows.
	Shadow *Shadow `yaml:"shadow"`
}

// Canary is strategy.canary.
type Canary struct {
	// Steps are the new version's shares in percent, increasing, ending at
	// 100. Default [1, 5, 25, 50, 100].
	Steps []int `yaml:"steps"`
	// MinStep is the shortest time on a step. Default 10s.
	MinStep time.Duration `yaml:"min_step"`
	// MaxStep: no verdict by then holds the step and opens a minor
	// incident. Default 10m.
	MaxStep time.Duration `yaml:"max_step"`
	// Sticky keeps a user on one version (at most one of header, cookie);
	// unset: requests are assigned one by one.
	Sticky Sticky `yaml:"sticky"`
}

// Sticky names the request header or cookie whose value identifies a user.
type Sticky struct {
	Header string `yaml:"header"`
	Cookie string `yaml:"cookie"`
}

// Canary defaults.
var (
	DefaultCanarySteps = []int{1, 5, 25, 50, 100}
)

const (
	DefaultCanaryMinStep = 10 * time.Second
	DefaultCanaryMaxStep = 10 * time.Minute
)

func (c *Canary) applyDefaults(path string, set setFn) {
	if !set(child(path, "steps"), len(c.Steps) == 0) {
		c.Steps = append([]int(nil), DefaultCanarySteps...)
	}
	fill(&c.MinStep, DefaultCanaryMinStep, child(path, "min_step"), set)
	fill(&c.MaxStep, DefaultCanaryMaxStep, child(path, "max_step"), set)
}

func (s *Strategy) applyDefaults(path string, set setFn) {
	if s.Canary != nil {
		s.Canary.applyDefaults(child(path, "canary"), set)
	}
	if s.Shadow != nil {
		s.Shadow.applyDefaults(child(path, "shadow"), set)
	}
}

func (s *Strategy) validate(r *report, path string) {
	if c := s.Canary; c != nil {
		c.validate(r, child(path, "canary"))
	}
	if sh := s.Shadow; sh != nil {
		sh.validate(r, child(path, "shadow"))
	}
}

func (c *Canary) validate(r *report, path string) {
	steps := child(path, "steps")
	switch {
	case len(c.Steps) == 0:
		r.add(steps, "needs at least one share, ending at 100, e.g. [1, 5, 25, 50, 100]")
	case c.Steps[len(c.Steps)-1] != 100:
		r.add(steps, "must end at 100 (the new version takes all traffic last), not %d, e.g. [1, 5, 25, 50, 100]", c.Steps[len(c.Steps)-1])
	}
	for i, p := range c.Steps {
		switch {
		case p < 1 || p > 100:
			r.add(index(steps, i), "%d: a share is a percent from 1 to 100", p)
		case i > 0 && p <= c.Steps[i-1]:
			r.add(index(steps, i), "%d after %d: steps must be increasing, e.g. [1, 5, 25, 50, 100]", p, c.Steps[i-1])
		}
	}
	if c.MinStep <= 0 {
		r.add(child(path, "min_step"), "must be positive, e.g. 10s")
	}
	if c.MaxStep <= c.MinStep {
		r.add(child(path, "max_step"), "%s must be longer than min_step %s, e.g. 10m", c.MaxStep, c.MinStep)
	}
	if c.Sticky.Header != "" && c.Sticky.Cookie != "" {
		r.add(child(path, "sticky"), "give header or cookie, not both: a user is identified by one key")
	}
	if h := c.Sticky.Header; h != "" && !validHeaderName(h) {
		r.add(child(path, "sticky.header"), "%q is not a header name (letters, digits, '-'), e.g. X-User-Id", h)
	}
	if k := c.Sticky.Cookie; k != "" && !validHeaderName(k) {
		r.add(child(path, "sticky.cookie"), "%q is not a cookie name, e.g. uid", k)
	}
}

// validHeaderName accepts RFC 9110 token characters.
func validHeaderName(s string) bool {
	for i := range len(s) {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return s != ""
}
