package config

import "time"

// Defaults for the top-level sections. They are safe rather than convenient:
// the API listens on loopback only, and state lives next to the config file.
const (
	DefaultAPIListen    = "127.0.0.1:7070"
	DefaultStoreURL     = "sqlite://ripcord.db"
	DefaultLogLevel     = "info"
	DefaultLogFormat    = "text"
	DefaultMaxBodyBytes = 64 << 10         // proxy.retry_on_previous.max_body_bytes
	DefaultBodyTimeout  = 30 * time.Second // proxy.body_timeout
	DefaultMaxConns     = 10000            // proxy.max_conns
)

// DefaultThresholds returns the thresholds a policy gets when the config
// gives no thresholds map at all: error_rate max 0.05 / critical 0.25,
// latency_p99_ms max 3000 / critical 10000, quality_score min 0.75 / critical
// 0.5, toxic_output_rate max 0.01 / critical 0.05.
//
// A thresholds map in the config replaces these wholesale; it is not merged
// with them. Merging would make it impossible to drop a default metric (say,
// quality_score for a service that has no quality signal) and would hide
// which limits are really in force. Each call returns a fresh map.
func DefaultThresholds() map[string]Threshold {
	return map[string]Threshold{
		"error_rate":        {Max: ptr(0.05), Critical: ptr(0.25)},
		"latency_p99_ms":    {Max: ptr(3000.0), Critical: ptr(10000.0)},
		"quality_score":     {Min: ptr(0.75), Critical: ptr(0.5)},
		"toxic_output_rate": {Max: ptr(0.01), Critical: ptr(0.05)},
	}
}

// DefaultPolicy returns the policy used for every field a service leaves
// out, including DefaultThresholds. Code that builds configs in Go (the demo,
// tests) starts from it to get the same behaviour as a YAML file.
func DefaultPolicy() Policy {
	return Policy{
		Interval:     50 * time.Millisecond,
		Window:       10 * time.Second,
		MinSamples:   0,
		Require:      2,
		Consecutive:  2,
		Alpha:        0.01,
		Sustain:      15 * time.Second,
		SuspectGrace: 30 * time.Second,
		Cooldown:     5 * time.Minute,
		Bake:         10 * time.Minute,
		MaxFallback:  2,
		Verify:       10 * time.Second,
		BlindGrace:   30 * time.Second,
		Confidence:   0.99,
		Thresholds:   DefaultThresholds(),
		DryRun:       false, // ripcord acts; true only observes and announces
	}
}

// ApplyDefaults fills every zero field of p from DefaultPolicy, and a nil
// Thresholds map with DefaultThresholds (an empty non-nil map is kept, and
// Validate rejects it). Because zero means "unset" here, Go code that wants
// a zero Cooldown, Bake or MaxFallback should start from DefaultPolicy and
// set them after; in YAML an explicit 0 is kept.
func (p *Policy) ApplyDefaults() { p.applyDefaults("", byZero) }

// ApplyDefaults fills every zero field of c, as Load does for absent keys.
func (c *Config) ApplyDefaults() { c.applyDefaults(byZero) }

// setFn reports whether the field at path was set by the user; zero says
// whether the field currently holds its zero value. Load answers from the
// keys present in the file, so "cooldown: 0" stays 0; ApplyDefaults answers
// from the value.
type setFn func(path string, zero bool) bool

func byZero(_ string, zero bool) bool { return !zero }

// fill sets *dst to def unless the user set it.
func fill[T comparable](dst *T, def T, path string, set setFn) {
	var zero T
	if !set(path, *dst == zero) {
		*dst = def
	}
}

func (c *Config) applyDefaults(set setFn) {
	fill(&c.API.Listen, DefaultAPIListen, "api.listen", set)
	if c.Store.URLFile == "" {
		fill(&c.Store.URL, DefaultStoreURL, "store.url", set)
	}
	fill(&c.Log.Level, DefaultLogLevel, "log.level", set)
	fill(&c.Log.Format, DefaultLogFormat, "log.format", set)
	for i := range c.Services {
		c.Services[i].applyDefaults(index("services", i), set)
	}
}

func (s *Service) applyDefaults(path string, set setFn) {
	if n := len(s.Versions); n > 0 {
		// The newest version is the one just deployed, so it is the one
		// being watched unless the user says otherwise.
		fill(&s.Active, s.Versions[n-1].Name, child(path, "active"), set)
	}
	fill(&s.Proxy.RetryOnPrevious.MaxBodyBytes, DefaultMaxBodyBytes,
		child(path, "proxy.retry_on_previous.max_body_bytes"), set)
	fill(&s.Proxy.BodyTimeout, DefaultBodyTimeout, child(path, "proxy.body_timeout"), set)
	fill(&s.Proxy.MaxConns, DefaultMaxConns, child(path, "proxy.max_conns"), set)
	s.Policy.applyDefaults(child(path, "policy"), set)
	s.Strategy.applyDefaults(child(path, "strategy"), set)
	s.Drills.applyDefaults(child(path, "drills"), set, s.Policy)
}

func (p *Policy) applyDefaults(path string, set setFn) {
	d := DefaultPolicy()
	fill(&p.Interval, d.Interval, child(path, "interval"), set)
	fill(&p.Window, d.Window, child(path, "window"), set)
	fill(&p.MinSamples, d.MinSamples, child(path, "min_samples"), set)
	fill(&p.Require, d.Require, child(path, "require"), set)
	fill(&p.Consecutive, d.Consecutive, child(path, "consecutive"), set)
	fill(&p.Alpha, d.Alpha, child(path, "alpha"), set)
	fill(&p.Sustain, d.Sustain, child(path, "sustain"), set)
	fill(&p.SuspectGrace, d.SuspectGrace, child(path, "suspect_grace"), set)
	fill(&p.Cooldown, d.Cooldown, child(path, "cooldown"), set)
	fill(&p.Bake, d.Bake, child(path, "bake"), set)
	fill(&p.MaxFallback, d.MaxFallback, child(path, "max_fallback"), set)
	fill(&p.Verify, d.Verify, child(path, "verify"), set)
	fill(&p.BlindGrace, d.BlindGrace, child(path, "blind_grace"), set)
	fill(&p.Confidence, d.Confidence, child(path, "confidence"), set)
	if !set(child(path, "thresholds"), p.Thresholds == nil) {
		p.Thresholds = d.Thresholds
	}
}

func ptr[T any](v T) *T { return &v }
