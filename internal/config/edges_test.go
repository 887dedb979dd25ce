package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Decoding edge cases, each in the file at the line a user would look at.
func TestDecodeEdgeCases(t *testing.T) {
	const iv = "      interval: 250ms"
	tests := []struct {
		name, old, repl, path string
		line                  int
		msg                   string
	}{
		{"string wanted", "name: llm-api", "name: [a, b]", "services[0].name", 4, "must be a single value (a string), not a list"},
		{"mapping for a string", "        url: http://127.0.0.1:9001", "        url: {a: b}", "services[0].versions[1].url", 11, "must be a single value (a string), not a mapping"},
		{"infinity", "max: 0.05,", "max: .inf,", "services[0].policy.thresholds.error_rate.max", 15, `must be a finite number, not ".inf"`},
		{"nan", "max: 0.05,", "max: .nan,", "services[0].policy.thresholds.error_rate.max", 15, "must be a finite number"},
		{"integer overflow", iv, "      require: 99999999999999999999", "services[0].policy.require", 13, "must be a whole number"},
		{"float for an integer", iv, "      min_samples: 1.5", "services[0].policy.min_samples", 13, `must be a whole number such as 50, not "1.5"`},
		{"long value is cut", iv, "      min_samples: " + strings.Repeat("x", 60), "services[0].policy.min_samples", 13, strings.Repeat("x", 40) + `..."`},
		{"map wanted", "      thresholds:\n", "      thresholds: [error_rate]\n      x:\n", "services[0].policy.thresholds", 14, "must be a mapping of name: value, not a list"},
		{"merge of a scalar", iv, "      <<: 5", "services[0].policy", 13, "'<<' must merge a mapping (e.g. <<: *defaults), not a number"},
		{"merge of an unknown anchor", iv, "      <<: *nope", "services[0].policy", 13, "alias *nope names no anchor"},
		{"bool for a duration", iv, "      interval: true", "services[0].policy.interval", 13, `"true" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrs(t, mutate(t, tt.old, tt.repl), t.TempDir())
			wantProblem(t, errs, tt.path, tt.line, tt.msg)
		})
	}
}

func TestDecodeAcceptsYAMLForms(t *testing.T) {
	src := mutate(t, "      interval: 250ms", "      <<: [{window: 20s}, {cooldown: 1m}]\n      interval: !!str 250ms\n      min_samples: 1_000\n      confidence: 0.95")
	src = strings.Replace(src, "latency_p99_ms: {max: 3000}", "latency_p99_ms: {max: 3000, critical: 3_000}", 1)
	src = strings.Replace(src, "        url: http://127.0.0.1:9000", "        url: |-\n          http://127.0.0.1:9000", 1)
	cfg := mustParse(t, src, "")
	p := cfg.Services[0].Policy
	if p.Window.String() != "20s" || p.Cooldown.String() != "1m0s" || p.Interval.String() != "250ms" || p.MinSamples != 1000 || p.Confidence != 0.95 {
		t.Errorf("policy = %+v", p)
	}
	if c := *p.Thresholds["latency_p99_ms"].Critical; c != 3000 {
		t.Errorf("critical = %v, want 3000 (an integer in a float field)", c)
	}
	if u := cfg.Services[0].Versions[0].URL; u != "http://127.0.0.1:9000" {
		t.Errorf("literal block URL = %q", u)
	}
}

func TestFileFields(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "abs.yaml")
	for _, tc := range []struct{ in, want string }{
		{"rel/p.yaml", filepath.Join(dir, "rel/p.yaml")},
		{abs, abs},
		{"''", ""},
	} {
		cfg := mustParse(t, withSignals(t, "      probe: {url: 'http://x:9090', file: "+tc.in+"}"), dir)
		c, err := Decode[fakeSource](cfg.Services[0].Signals.Providers[0])
		if err != nil || string(c.File) != tc.want {
			t.Errorf("file %s → %q, %v; want %q", tc.in, c.File, err, tc.want)
		}
	}
	// Without a base directory (Parse of text with no file) a relative
	// path stays as written.
	cfg := mustParse(t, withSignals(t, "      probe: {url: 'http://x:9090', file: rel.yaml}"), "")
	if c, _ := Decode[fakeSource](cfg.Services[0].Signals.Providers[0]); c.File != "rel.yaml" {
		t.Errorf("no base dir: %q", c.File)
	}
	errs := parseErrs(t, withSignals(t, "      probe: {url: 'http://x:9090', file: [a]}"), dir)
	wantProblem(t, errs, "services[0].signals.probe.file", 13, "must be a file path (a string), not a list")
}

func TestHeaderSignals(t *testing.T) {
	errs := parseErrs(t, withSignals(t, "      headers: {quality_scor: X-Q, toxic_output_rate: ' '}"), "")
	wantProblem(t, errs, "services[0].signals.headers.quality_scor", 13, `unknown metric "quality_scor"`)
	wantProblem(t, errs, "services[0].signals.headers.toxic_output_rate", 13, "needs a header name")
}

func TestBaselineValidation(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name     string
		b        Baseline
		path     string
		msg      string
		wantConf float64
	}{
		{"relative", Baseline{MaxIncrease: f(0.2)}, "", "", 0.99},
		{"test with defaults", Baseline{Test: "mann_whitney"}, "", "", 0.99},
		{"test with its own confidence", Baseline{Test: "mann_whitney", Confidence: 0.9, Tolerance: 0.05}, "", "", 0.9},
		{"no comparison", Baseline{}, "policy.thresholds.error_rate.baseline", "sets no comparison", 0},
		{"negative increase", Baseline{MaxIncrease: f(-0.1)}, "policy.thresholds.error_rate.baseline.max_increase", "must be 0 or more", 0},
		{"negative delta", Baseline{MaxDelta: f(-1)}, "policy.thresholds.error_rate.baseline.max_delta", "must be 0 or more", 0},
		{"unknown test", Baseline{Test: "t_test"}, "policy.thresholds.error_rate.baseline.test", `must be mann_whitney (or left out), not "t_test"`, 0},
		{"confidence", Baseline{Test: "mann_whitney", Confidence: 1.5}, "policy.thresholds.error_rate.baseline.confidence", "at least 0.5 and below 1", 0},
		{"tolerance", Baseline{Test: "mann_whitney", Tolerance: -1}, "policy.thresholds.error_rate.baseline.tolerance", "must be 0 or more", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.Require = 1
			b := tt.b
			p.Thresholds = map[string]Threshold{"error_rate": {Baseline: &b}}
			err := p.Validate()
			if tt.path == "" {
				if err != nil || b.Confidence != tt.wantConf || b.Tolerance == 0 {
					t.Fatalf("Validate = %v, baseline %+v", err, b)
				}
				return
			}
			wantProblem(t, problemsOf(t, err), tt.path, 0, tt.msg)
		})
	}
}

func TestNegativeLimitsNameTheUnit(t *testing.T) {
	for metric, unit := range map[string]string{
		"latency_p50_ms": "it is milliseconds",
		"throughput_rps": "it is requests per second",
		"cpu_usage":      "it is cores in use",
		"memory_bytes":   "it is bytes",
	} {
		p := DefaultPolicy()
		p.Require = 1
		v := -1.0
		p.Thresholds = map[string]Threshold{metric: {Max: &v}}
		wantProblem(t, problemsOf(t, p.Validate()), "policy.thresholds."+metric+".max", 0, "must not be negative ("+unit+")")
	}
}

func TestReportsDir(t *testing.T) {
	for _, tc := range []struct {
		dir, base, want string
	}{
		{"", "/etc/ripcord", "/etc/ripcord/reports"},
		{"out", "/etc/ripcord", "/etc/ripcord/out"},
		{"/var/reports", "/etc/ripcord", "/var/reports"},
		{"", "", "reports"},
	} {
		c := Config{Reports: Reports{Dir: tc.dir}, BaseDir: tc.base}
		if got := c.ReportsDir(); got != tc.want {
			t.Errorf("ReportsDir(%q, base %q) = %q, want %q", tc.dir, tc.base, got, tc.want)
		}
	}
}

func TestLoadProblems(t *testing.T) {
	dir := t.TempDir()
	// A directory is not a file: the read fails before any decoding.
	if _, err := Load(dir, testProviders); err == nil || !strings.HasPrefix(err.Error(), "read config: ") {
		t.Errorf("directory: %v", err)
	}
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("api: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, testProviders)
	if err == nil || !strings.Contains(err.Error(), "config "+path+": 1 problem(s):\nline ") || !strings.Contains(err.Error(), "YAML syntax error") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestChannelKind(t *testing.T) {
	one := Channel{Providers: []Block{BlockOf("slack", fakeChannel{})}}
	two := Channel{Providers: []Block{BlockOf("slack", nil), BlockOf("teams", nil)}}
	if one.Kind() != "slack" || two.Kind() != "" || (Channel{}).Kind() != "" {
		t.Errorf("Kind: %q %q %q", one.Kind(), two.Kind(), Channel{}.Kind())
	}
}

func TestRedactedWithoutThresholds(t *testing.T) {
	c := Config{Services: []Service{{Name: "a"}}}
	if r := c.Redacted(); r.Services[0].Policy.Thresholds != nil {
		t.Errorf("nil thresholds became %v", r.Services[0].Policy.Thresholds)
	}
}
