package config

import (
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/signal/jsonpath"
)

// Shadow is strategy.shadow: before a new version serves anyone, the
// switch sends it copies of live requests and judges its answers, which
// never reach users.
type Shadow struct {
	// Duration is the shortest time in shadow; the deploy moves on at the
	// first healthy verdict after it. Default 30s.
	Duration time.Duration `yaml:"duration"`
	// Percent of eligible live requests copied (1–100). Default 100.
	Percent int `yaml:"percent"`
	// Methods mirrored. Default [GET, HEAD, OPTIONS]; any other method
	// needs UnsafeMethods.
	Methods []string `yaml:"methods"`
	// UnsafeMethods allows mirroring methods that change state (POST, PUT,
	// PATCH, DELETE): the new version then acts on every copy as if a user
	// had sent it (a second charge, a second email), so it is opt-in.
	UnsafeMethods bool `yaml:"unsafe_methods"`
	// MaxBody is the largest request body copied, in bytes; a request with
	// a larger (or chunked, unknown-length) body is not mirrored. Default
	// 64 KiB.
	MaxBody int64 `yaml:"max_body"`
	// Backlog is how many copies may wait for the new version at once;
	// beyond it copies are dropped and counted. Default 256.
	Backlog int `yaml:"backlog"`
	// Compare checks the new version's answers against the live one's.
	Compare ShadowCompare `yaml:"compare"`
}

// ShadowCompare is strategy.shadow.compare.
type ShadowCompare struct {
	// Status: the two answers' status codes must be equal.
	Status bool `yaml:"status"`
	// JSON lists fields of JSON answers that must be equal, in the probe
	// files' path syntax (choices[0].finish_reason).
	JSON []string `yaml:"json"`
	// MaxMismatch is the share of compared copies that may disagree with
	// the live answer; above it (proven by the sequential test) the new
	// version is bad, on that evidence alone. Default 0.05.
	MaxMismatch float64 `yaml:"max_mismatch"`
}

// Enabled reports whether any comparison is asked for.
func (c ShadowCompare) Enabled() bool { return c.Status || len(c.JSON) > 0 }

// Shadow defaults.
const (
	DefaultShadowDuration = 30 * time.Second
	DefaultShadowPercent  = 100
	DefaultShadowMaxBody  = 64 << 10
	DefaultShadowBacklog  = 256
	// DefaultShadowMaxMismatch: a version whose answers disagree with the
	// live one's on more than 1 in 20 requests is not the same service.
	DefaultShadowMaxMismatch = 0.05
)

// DefaultShadowMethods are the methods mirrored without unsafe_methods:
// RFC 9110's safe methods, which a version answers without changing
// anything.
var DefaultShadowMethods = []string{"GET", "HEAD", "OPTIONS"}

func (s *Shadow) applyDefaults(path string, set setFn) {
	fill(&s.Duration, DefaultShadowDuration, child(path, "duration"), set)
	fill(&s.Percent, DefaultShadowPercent, child(path, "percent"), set)
	fill(&s.MaxBody, DefaultShadowMaxBody, child(path, "max_body"), set)
	fill(&s.Backlog, DefaultShadowBacklog, child(path, "backlog"), set)
	fill(&s.Compare.MaxMismatch, DefaultShadowMaxMismatch, child(path, "compare.max_mismatch"), set)
	if !set(child(path, "methods"), len(s.Methods) == 0) {
		s.Methods = slices.Clone(DefaultShadowMethods)
	}
}

func (s *Shadow) validate(r *report, path string) {
	if s.Duration <= 0 {
		r.add(child(path, "duration"), "must be positive, e.g. 30s")
	}
	if s.Percent < 1 || s.Percent > 100 {
		r.add(child(path, "percent"), "%d: a share is a percent from 1 to 100, e.g. 100", s.Percent)
	}
	if s.MaxBody < 0 {
		r.add(child(path, "max_body"), "must not be negative, e.g. 65536 (0 mirrors only requests without a body)")
	}
	if s.Backlog < 1 {
		r.add(child(path, "backlog"), "must be at least 1, e.g. 256")
	}
	methods := child(path, "methods")
	if len(s.Methods) == 0 {
		r.add(methods, "needs at least one method, e.g. [GET, HEAD]")
	}
	for i, m := range s.Methods {
		switch {
		case m == "" || !validHeaderName(m) || strings.ToUpper(m) != m:
			r.add(index(methods, i), "%q is not an HTTP method (upper case, e.g. GET)", m)
		case !slices.Contains(DefaultShadowMethods, m) && !s.UnsafeMethods:
			r.add(index(methods, i), "%s may change state, so its copies would act twice (a second order, a second email): "+
				"set strategy.shadow.unsafe_methods: true if the new version is safe to receive them, or mirror only GET, HEAD, OPTIONS", m)
		case slices.Index(s.Methods, m) < i:
			r.add(index(methods, i), "%s is listed twice", m)
		}
	}
	if m := s.Compare.MaxMismatch; m <= 0 || m >= 1 {
		r.add(child(path, "compare.max_mismatch"), "%g: a share of compared requests between 0 and 1 (exclusive), e.g. 0.05", m)
	}
	for i, p := range s.Compare.JSON {
		if _, err := jsonpath.Parse(p); err != nil || p == "" {
			msg := "is empty"
			if err != nil {
				msg = err.Error()
			}
			r.add(index(child(path, "compare.json"), i), "%s: a field path as in probe files, e.g. choices[0].finish_reason", msg)
		}
	}
}
