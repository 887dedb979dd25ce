package config

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestThresholdValidation(t *testing.T) {
	type th = Threshold
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name       string
		thresholds map[string]Threshold
		path, msg  string // want; empty path means valid
	}{
		{"defaults", DefaultThresholds(), "", ""},
		{"critical only", map[string]th{"error_rate": {Critical: f(0.5)}}, "", ""},
		{"unknown metric", map[string]th{"eror_rate": {Max: f(0.1)}}, "policy.thresholds.eror_rate", `unknown metric "eror_rate" (did you mean "error_rate"?); known metrics are error_rate, http_5xx_rate`},
		{"no limit", map[string]th{"error_rate": {}}, "policy.thresholds.error_rate", "sets no limit"},
		{"max and min", map[string]th{"latency_p99_ms": {Max: f(10), Min: f(1)}}, "policy.thresholds.latency_p99_ms", "not both"},
		{"rate above 1", map[string]th{"error_rate": {Max: f(5)}}, "policy.thresholds.error_rate.max", "must be between 0 and 1 (it is a share: 0.05 means 5%)"},
		{"rate below 0", map[string]th{"toxic_output_rate": {Critical: f(-0.1)}}, "policy.thresholds.toxic_output_rate.critical", "between 0 and 1"},
		{"quality above 1", map[string]th{"quality_score": {Min: f(75)}}, "policy.thresholds.quality_score.min", "quality scores run from 0, worst, to 1, best"},
		{"negative latency", map[string]th{"latency_p99_ms": {Max: f(-1)}}, "policy.thresholds.latency_p99_ms.max", "must not be negative (it is milliseconds)"},
		{"NaN", map[string]th{"latency_p50_ms": {Max: f(math.NaN())}}, "policy.thresholds.latency_p50_ms.max", "finite"},
		{"critical below max", map[string]th{"error_rate": {Max: f(0.1), Critical: f(0.05)}}, "policy.thresholds.error_rate.critical", "must be at least max"},
		{"critical above min", map[string]th{"quality_score": {Min: f(0.5), Critical: f(0.7)}}, "policy.thresholds.quality_score.critical", "must be at most min"},
		{"critical equal max", map[string]th{"error_rate": {Max: f(0.1), Critical: f(0.1)}, "quality_score": {Min: f(0.5)}}, "", ""},
		{"too few for require", map[string]th{"error_rate": {Max: f(0.1)}}, "policy.require", "only 1 threshold(s) set max, min or baseline"},
		{"empty map", map[string]th{}, "policy.thresholds", "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.Thresholds = tt.thresholds
			err := p.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantProblem(t, problemsOf(t, err), tt.path, 0, tt.msg)
		})
	}
}

func TestThresholdLinesInFile(t *testing.T) {
	errs := parseErrs(t, mutate(t, "{max: 0.05, critical: 0.5}", "{max: 0.05, critical: 0.01}"), "")
	wantProblem(t, errs, "services[0].policy.thresholds.error_rate.critical", 15, "0.01 is below max (0.05)")
	// A problem about a key the user did not write points at its parent.
	errs = parseErrs(t, mutate(t, "{max: 3000}", "{critical: 3000}"), "")
	wantProblem(t, errs, "services[0].policy.require", 12, "is 2 but only 1 threshold(s) set max, min or baseline")
}

func TestPolicyValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Policy)
		path   string
		msg    string
	}{
		{"interval zero", func(p *Policy) { p.Interval = 0 }, "policy.interval", "must be longer than 0"},
		{"interval over window", func(p *Policy) { p.Interval = time.Minute }, "policy.interval", "longer than window (10s)"},
		{"window", func(p *Policy) { p.Window = -time.Second }, "policy.window", "must be longer than 0"},
		{"min_samples", func(p *Policy) { p.MinSamples = -1 }, "policy.min_samples", "must be 0 or more"},
		{"alpha", func(p *Policy) { p.Alpha = 0.5 }, "policy.alpha", "at most 0.2"},
		{"suspect_grace within sustain", func(p *Policy) { p.SuspectGrace = 10 * time.Second }, "policy.suspect_grace", "not longer than sustain"},
		{"negative sustain", func(p *Policy) { p.Sustain = -time.Second }, "policy.sustain", "must not be negative"},
		{"require", func(p *Policy) { p.Require = 0 }, "policy.require", "must be 1 or more"},
		{"consecutive", func(p *Policy) { p.Consecutive = 0 }, "policy.consecutive", "must be 1 or more"},
		{"cooldown", func(p *Policy) { p.Cooldown = -time.Second }, "policy.cooldown", "must not be negative"},
		{"bake", func(p *Policy) { p.Bake = -time.Second }, "policy.bake", "must not be negative"},
		{"max_fallback", func(p *Policy) { p.MaxFallback = -1 }, "policy.max_fallback", "must be 0 or more"},
		{"verify", func(p *Policy) { p.Verify = 0 }, "policy.verify", "must be longer than 0"},
		{"blind_grace", func(p *Policy) { p.BlindGrace = 0 }, "policy.blind_grace", "must be longer than 0"},
		{"confidence low", func(p *Policy) { p.Confidence = 0.4 }, "policy.confidence", "at least 0.5 and below 1"},
		{"confidence one", func(p *Policy) { p.Confidence = 1 }, "policy.confidence", "at least 0.5 and below 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.change(&p)
			errs := problemsOf(t, p.Validate())
			if len(errs) != 1 {
				t.Errorf("want exactly one problem, got %v", errs)
			}
			wantProblem(t, errs, tt.path, 0, tt.msg)
		})
	}
	p := DefaultPolicy()
	p.Cooldown, p.Bake, p.MaxFallback = 0, 0, 0
	if err := p.Validate(); err != nil {
		t.Errorf("zero cooldown/bake/max_fallback must be valid: %v", err)
	}
}

func TestLowerIsWorse(t *testing.T) {
	v := 0.5
	tests := []struct {
		metric string
		t      Threshold
		want   bool
	}{
		{"quality_score", Threshold{Critical: &v}, true},
		{"error_rate", Threshold{Critical: &v}, false},
		{"latency_p99_ms", Threshold{Critical: &v}, false},
		{"throughput_rps", Threshold{Min: &v}, true},
		{"quality_score", Threshold{Max: &v}, false},
	}
	for _, tt := range tests {
		if got := tt.t.LowerIsWorse(tt.metric); got != tt.want {
			t.Errorf("%s %+v: LowerIsWorse = %v, want %v", tt.metric, tt.t, got, tt.want)
		}
	}
}

func TestDefaultsInGo(t *testing.T) {
	var p Policy
	p.ApplyDefaults()
	if !reflect.DeepEqual(p, DefaultPolicy()) {
		t.Errorf("ApplyDefaults on zero Policy = %+v", p)
	}
	p = Policy{Window: time.Minute, Thresholds: map[string]Threshold{"error_rate": {Max: ptr(0.1)}}}
	p.ApplyDefaults()
	if p.Window != time.Minute || len(p.Thresholds) != 1 || p.Interval != 50*time.Millisecond {
		t.Errorf("ApplyDefaults overwrote set fields: %+v", p)
	}
	DefaultThresholds()["error_rate"] = Threshold{}
	if DefaultThresholds()["error_rate"].Max == nil {
		t.Error("DefaultThresholds shares its map between calls")
	}
	c := Config{Services: []Service{{Name: "a", Proxy: Proxy{Listen: "127.0.0.1:8080"},
		Versions: []Version{{Name: "v1", URL: "http://127.0.0.1:9001"}, {Name: "v2", URL: "http://127.0.0.1:9002"}}}}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate after ApplyDefaults: %v", err)
	}
	if c.API.Listen != DefaultAPIListen || c.Store.URL != DefaultStoreURL || c.Services[0].Active != "v2" ||
		c.Services[0].Proxy.RetryOnPrevious.MaxBodyBytes != 65536 || !strings.HasPrefix(c.Log.Level, "info") {
		t.Errorf("Config.ApplyDefaults = %+v", c)
	}
}

// TestSequentialDefaultsAndWarnings: the sequential verdicts' keys default
// as documented, and the keys they replaced still load but say so, with
// their line, instead of silently doing less than before.
func TestSequentialDefaultsAndWarnings(t *testing.T) {
	cfg := mustParse(t, base, t.TempDir())
	p := cfg.Services[0].Policy
	if p.Alpha != 0.01 || p.Sustain != 15*time.Second || p.SuspectGrace != 30*time.Second || p.MinSamples != 0 {
		t.Errorf("defaults: alpha %v sustain %v suspect_grace %v min_samples %d", p.Alpha, p.Sustain, p.SuspectGrace, p.MinSamples)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings for a config that sets neither key: %v", cfg.Warnings)
	}
	cfg = mustParse(t, mutate(t, "      interval: 250ms\n", "      interval: 250ms\n      confidence: 0.95\n      consecutive: 3\n"), t.TempDir())
	wantProblem(t, cfg.Warnings, "services[0].policy.confidence", 14, "policy.alpha")
	wantProblem(t, cfg.Warnings, "services[0].policy.consecutive", 15, "policy.sustain")
	if cfg.Services[0].Policy.Consecutive != 3 || cfg.Services[0].Policy.Confidence != 0.95 {
		t.Errorf("the warned keys must still take effect where they apply: %+v", cfg.Services[0].Policy)
	}
}
