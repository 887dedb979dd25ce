package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadExample(t *testing.T) {
	cfg, err := Load("testdata/example.yaml", testProviders)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	dir, _ := filepath.Abs("testdata")
	if cfg.BaseDir != dir {
		t.Errorf("BaseDir = %q, want %q", cfg.BaseDir, dir)
	}
	tok := cfg.API.Tokens[0]
	if tok.Name != "ci" || tok.Role != RoleOperator || tok.Value != "example-ci-token-not-a-real-secret" {
		t.Errorf("token = %+v (value resolved: %v)", tok, tok.Value != "")
	}
	if db, _ := cfg.Store.SQLitePath(cfg.BaseDir); db != filepath.Join(dir, "ripcord.db") {
		t.Errorf("SQLitePath = %q", db)
	}
	if cfg.API.Listen != "127.0.0.1:7070" || cfg.Log != (Log{"info", "text"}) {
		t.Errorf("api/log = %+v %+v", cfg.API, cfg.Log)
	}
	s := cfg.Services[0]
	if s.Name != "llm-api" || s.Proxy.Listen != "127.0.0.1:8080" || s.Active != "v1" ||
		len(s.Versions) != 2 || s.Versions[0] != (Version{Name: "v0", URL: "http://127.0.0.1:9000"}) {
		t.Errorf("service = %+v", s)
	}
	if s.Proxy.RetryOnPrevious != (RetryOnPrevious{MaxBodyBytes: 65536}) {
		t.Errorf("retry_on_previous = %+v, want defaults", s.Proxy.RetryOnPrevious)
	}
	want := DefaultPolicy()
	want.Interval = 250 * time.Millisecond
	want.Thresholds = map[string]Threshold{
		"error_rate":        {Max: ptr(0.05), Critical: ptr(0.5)},
		"latency_p99_ms":    {Max: ptr(3000.0), Critical: ptr(10000.0)},
		"quality_score":     {Min: ptr(0.75)},
		"toxic_output_rate": {Max: ptr(0.01)},
	}
	if !reflect.DeepEqual(s.Policy, want) {
		t.Errorf("policy =\n%+v\nwant\n%+v", s.Policy, want)
	}
}

func TestLoadWrapsErrorsWithFileName(t *testing.T) {
	_, err := Load("testdata/three_problems.yaml", testProviders)
	if err == nil || !strings.HasPrefix(err.Error(), "config testdata/three_problems.yaml: 3 problem(s):\napi.tokens[0].role: line 4: ") {
		t.Fatalf("err = %v", err)
	}
	problemsOf(t, err) // errors.As sees through the wrapping
	if _, err := Load("testdata/missing.yaml", testProviders); err == nil || errors.As(err, new(Errors)) {
		t.Errorf("missing file: err = %v, want a plain read error", err)
	}
}

func TestThreeProblemsAllReportedWithLines(t *testing.T) {
	_, err := Load("testdata/three_problems.yaml", testProviders)
	errs := problemsOf(t, err)
	if len(errs) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(errs), errs)
	}
	wantProblem(t, errs, "api.tokens[0].role", 4, `must be one of viewer, operator, admin, not "superuser"`)
	wantProblem(t, errs, "services[0].policy.intervall", 11, `did you mean "interval"?`)
	wantProblem(t, errs, "services[0].policy.thresholds.error_rate.max", 13, "must be between 0 and 1 (it is a share: 0.05 means 5%)")
	for i := 1; i < len(errs); i++ {
		if errs[i-1].Line > errs[i].Line {
			t.Errorf("problems not in file order: %v", errs)
		}
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		old, repl, path string
		line            int
		msg             string
	}{
		{"api:", "apii:", "apii", 1, `unknown key "apii" (did you mean "api"?); valid keys here are api, store, log, services`},
		{"    proxy:", "    prxy:", "services[0].prxy", 5, `did you mean "proxy"?`},
		{"      listen: 127.0.0.1:8080", "      listn: 127.0.0.1:8080", "services[0].proxy.listn", 6, "valid keys here are listen, retry_on_previous"},
		{"        url: http://127.0.0.1:9001", "        uri: http://127.0.0.1:9001", "services[0].versions[1].uri", 11, `did you mean "url"?`},
		{"      interval: 250ms", "      intervall: 250ms", "services[0].policy.intervall", 13, `did you mean "interval"?`},
		{"{max: 0.05, critical: 0.5}", "{maximum: 0.05, critical: 0.5}", "services[0].policy.thresholds.error_rate.maximum", 15, "valid keys here are max, min, critical"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			errs := parseErrs(t, mutate(t, tt.old, tt.repl), t.TempDir())
			wantProblem(t, errs, tt.path, tt.line, tt.msg)
		})
	}
}

func TestUnknownKeysEverywhereAtOnce(t *testing.T) {
	src := "apii: 1\n" + mutate(t, "      interval: 250ms", "      intervall: 250ms") + "extra: true\n"
	errs := parseErrs(t, src, t.TempDir())
	if len(errs) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(errs), errs)
	}
	wantProblem(t, errs, "apii", 1, "unknown key")
	wantProblem(t, errs, "services[0].policy.intervall", 14, "unknown key")
	wantProblem(t, errs, "extra", 18, "unknown key")
}

func TestBadValues(t *testing.T) {
	const at = "services[0].policy.interval"
	tests := []struct {
		name, old, repl, path, msg string
	}{
		{"words", "250ms", "5 minutes", at, `"5 minutes" is not a duration: write a number followed by a unit`},
		{"no unit", "250ms", "5", at, `"5" is not a duration`},
		{"float", "250ms", "1.5", at, `"1.5" is not a duration`},
		{"list", "250ms", "[1s]", at, "a list is not a duration"},
		{"explicit zero is kept", "250ms", "0", at, "must be longer than 0"},
		{"negative", "250ms", "-1s", at, "must be longer than 0"},
		{"longer than window", "250ms", "1m", at, "longer than window (10s)"},
		{"percent", "max: 0.05,", "max: 5%,", "services[0].policy.thresholds.error_rate.max", "5% is 0.05"},
		{"int wanted", "interval: 250ms", "min_samples: lots", "services[0].policy.min_samples", `must be a whole number such as 50, not "lots"`},
		{"bool wanted", "      listen: 127.0.0.1:8080", "      retry_on_previous: {enabled: yes}", "services[0].proxy.retry_on_previous.enabled", `must be true or false, not "yes"`},
		{"mapping wanted", "    proxy:", "    proxy: 8080\n    x:", "services[0].proxy", "must be a mapping with keys listen, retry_on_previous, trusted_proxies, body_timeout, max_conns, not a number"},
		{"list wanted", "    versions:", "    versions: v1\n    x:", "services[0].versions", "must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrs(t, mutate(t, tt.old, tt.repl), t.TempDir())
			line := strings.Count(base[:strings.Index(base, tt.old)], "\n") + 1
			wantProblem(t, errs, tt.path, line, tt.msg)
		})
	}
}

func TestDecodeFailureSuppressesFollowOnProblems(t *testing.T) {
	// versions is not a list: "at least one version" would only repeat that.
	errs := parseErrs(t, mutate(t, "    versions:", "    versions: v1\n    x:"), t.TempDir())
	for _, p := range errs {
		if p.Path == "services[0].versions" && strings.Contains(p.Msg, "at least one") {
			t.Errorf("follow-on problem reported: %v", p)
		}
	}
}

func TestSyntaxAndDocumentProblems(t *testing.T) {
	errs := parseErrs(t, "api:\n  listen: [\n", "")
	if len(errs) != 1 || errs[0].Line == 0 || !strings.Contains(errs[0].Msg, "YAML syntax error") {
		t.Errorf("syntax error: %v", errs)
	}
	errs = parseErrs(t, base+"---\nlog: {level: info}\n", "")
	wantProblem(t, errs, "", 18, "single YAML document")
	errs = parseErrs(t, "", "")
	wantProblem(t, errs, "services", 0, "at least one service is required")
}

func TestDuplicateKeys(t *testing.T) {
	errs := parseErrs(t, mutate(t, "      interval: 250ms", "      interval: 250ms\n      interval: 1s"), "")
	wantProblem(t, errs, "services[0].policy.interval", 14, `"interval" is set twice (first on line 13)`)
}

func TestDefaultsOnlyForAbsentKeys(t *testing.T) {
	cfg := mustParse(t, mutate(t, "      interval: 250ms", "      cooldown: 0\n      bake: 0\n      max_fallback: 0\n      window:"), "")
	p := cfg.Services[0].Policy
	if p.Cooldown != 0 || p.Bake != 0 || p.MaxFallback != 0 {
		t.Errorf("explicit zeros replaced by defaults: %+v", p)
	}
	if p.Window != 10*time.Second || p.Interval != 50*time.Millisecond {
		t.Errorf("null/absent keys not defaulted: window %v interval %v", p.Window, p.Interval)
	}
	if len(p.Thresholds) != 2 {
		t.Errorf("a thresholds map must replace the defaults wholesale, got %v", p.Thresholds)
	}
	cfg = mustParse(t, strings.Split(base, "    policy:")[0], "")
	if got := cfg.Services[0].Policy; !reflect.DeepEqual(got, DefaultPolicy()) || cfg.Services[0].Active != "v1" {
		t.Errorf("policy without keys = %+v, active %q", got, cfg.Services[0].Active)
	}
}

func TestEmptyThresholdsMapRejected(t *testing.T) {
	src := strings.Replace(strings.Split(base, "        error_rate")[0], "thresholds:", "thresholds: {}", 1)
	errs := parseErrs(t, src, "")
	wantProblem(t, errs, "services[0].policy.thresholds", 14, "remove the thresholds key to use the defaults")
}

func TestAnchorsAliasesAndMerge(t *testing.T) {
	src := mutate(t, "    policy:", "    policy: &pol") + `  - name: second
    proxy: {listen: 127.0.0.1:8081}
    versions: [{name: v1, url: http://127.0.0.1:9101}]
    policy: *pol
  - name: third
    proxy: {listen: 127.0.0.1:8082}
    versions: [{name: v1, url: http://127.0.0.1:9201}]
    policy:
      <<: *pol
      interval: 1s
`
	cfg := mustParse(t, src, "")
	first, second, third := cfg.Services[0].Policy, cfg.Services[1].Policy, cfg.Services[2].Policy
	if !reflect.DeepEqual(first, second) || first.Interval != 250*time.Millisecond {
		t.Errorf("alias: %+v vs %+v", first, second)
	}
	if third.Interval != time.Second || !reflect.DeepEqual(third.Thresholds, first.Thresholds) {
		t.Errorf("merge: %+v", third)
	}
	errs := parseErrs(t, mutate(t, "    policy:", "    policy: *nope\n    x:"), "")
	wantProblem(t, errs, "services[0].policy", 12, "alias *nope names no anchor")
}

func TestVersionNamesStayText(t *testing.T) {
	cfg := mustParse(t, mutate(t, "      - name: v1\n", "      - name: 1.10\n"), "")
	if got := cfg.Services[0].Versions[1].Name; got != "1.10" || cfg.Services[0].Active != "1.10" {
		t.Errorf("version name = %q, active %q, want 1.10", got, cfg.Services[0].Active)
	}
}
