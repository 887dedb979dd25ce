package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
)

// withSignals puts a signals section (indented as under a service, one line
// per element) before the policy of the base config: signals: is line 12.
func withSignals(t *testing.T, lines ...string) string {
	t.Helper()
	return mutate(t, "    policy:\n", "    signals:\n"+strings.Join(lines, "\n")+"\n    policy:\n")
}

func TestProviderBlockDecodes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "prom.token", secret+"\n")
	src := withSignals(t,
		"      headers: {quality_score: X-Quality-Score}",
		"      prometheus:",
		"        url: http://127.0.0.1:9090",
		"        mode: fast",
		"        file: probes/chat.yaml",
		"        timeout: 2s",
		"        token_file: prom.token",
		"        queries: {error_rate: 'up{v=\"{{.Version}}\"}'}",
	)
	cfg := mustParse(t, src, dir)
	sig := cfg.Services[0].Signals
	if len(sig.Providers) != 1 || sig.Headers["quality_score"] != "X-Quality-Score" {
		t.Fatalf("signals = %+v", sig)
	}
	b := sig.Providers[0]
	if b.Kind != "prometheus" || b.Path != "services[0].signals.prometheus" || b.Line != 14 {
		t.Errorf("block = %s at %s line %d", b.Kind, b.Path, b.Line)
	}
	got, err := Decode[fakeSource](b)
	if err != nil {
		t.Fatal(err)
	}
	want := fakeSource{URL: "http://127.0.0.1:9090", Mode: "fast", File: field.File(filepath.Join(dir, "probes/chat.yaml")),
		Timeout: 2 * time.Second, Queries: map[string]string{"error_rate": `up{v="{{.Version}}"}`}, Token: secret}
	if fmt.Sprint(got.Queries) != fmt.Sprint(want.Queries) || got.URL != want.URL || got.File != want.File ||
		got.Timeout != want.Timeout || got.Token.Reveal() != secret || got.Mode != want.Mode {
		t.Errorf("decoded %+v\nwant    %+v", got, want)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", got, got, got), secret) {
		t.Error("a decoded Config prints its secret")
	}
}

func TestProviderProblemsCarryPathAndLine(t *testing.T) {
	const p = "services[0].signals.prometheus"
	tests := []struct {
		name  string
		lines []string
		path  string
		line  int
		msg   string
	}{
		{"unknown key", []string{"      prometheus:", "        url: http://x:9090", "        urll: x"}, p + ".urll", 15, `unknown key "urll" (did you mean "url"?); valid keys here are url, mode, file, timeout, queries, token_file, token`},
		{"wrong type", []string{"      prometheus:", "        url: http://x:9090", "        timeout: 5"}, p + ".timeout", 15, `"5" is not a duration`},
		{"validate at key", []string{"      prometheus:", "        url: http://x:9090", "        mode: turbo"}, p + ".mode", 15, `must be fast or slow, not "turbo"`},
		{"validate at absent key", []string{"      prometheus:", "        mode: fast"}, p + ".url", 13, "is required, e.g. http://127.0.0.1:9090"},
		{"validate in map", []string{"      prometheus: {url: 'http://x:9090', queries: {error_rate: ''}}"}, p + ".queries.error_rate", 13, "is an empty query"},
		{"not a mapping", []string{"      prometheus: http://x:9090"}, p, 13, "must be a mapping with keys url, mode"},
		{"plain error", []string{"      probe: {url: 'http://x:9090'}", "    target:", "      kubernetes: {name: ''}"}, "services[0].target.kubernetes", 15, "needs a name"},
		{"unknown kind", []string{"      prometeus: {url: 'http://x:9090'}"}, "services[0].signals.prometeus", 13, `unknown key "prometeus" (did you mean "prometheus"?); valid keys here are headers, prometheus, probe`},
		{"unknown target", []string{"      probe: {url: 'http://x:9090'}", "    target:", "      kubernets: {name: x}"}, "services[0].target.kubernets", 15, "valid keys here are kubernetes, registry"},
		{"two targets", []string{"      probe: {url: 'http://x:9090'}", "    target:", "      kubernetes: {name: x}", "      registry: {url: 'http://x'}"}, "services[0].target", 14, "sets kubernetes and registry: a service has one revert target"},
		{"signals not a mapping", []string{"      - prometheus"}, "services[0].signals", 13, "must be a mapping with keys headers or a provider's name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrs(t, withSignals(t, tt.lines...), t.TempDir())
			wantProblem(t, errs, tt.path, tt.line, tt.msg)
		})
	}
}

func TestProblemsOfEveryKindInOneReport(t *testing.T) {
	// A schema problem, a provider decode problem and a provider validation
	// problem, reported together and in file order.
	src := withSignals(t, "      prometheus:", "        mode: turbo", "        urll: x")
	src = strings.Replace(src, "interval: 250ms", "interval: 250", 1)
	errs := parseErrs(t, src, t.TempDir())
	if len(errs) != 4 {
		t.Fatalf("want 4 problems, got:\n%v", errs)
	}
	wantProblem(t, errs, "services[0].signals.prometheus.url", 13, "is required")
	wantProblem(t, errs, "services[0].signals.prometheus.mode", 14, "must be fast or slow")
	wantProblem(t, errs, "services[0].signals.prometheus.urll", 15, "unknown key")
	wantProblem(t, errs, "services[0].policy.interval", 17, `"250" is not a duration`)
	for i := 1; i < len(errs); i++ {
		if errs[i-1].Line > errs[i].Line {
			t.Errorf("not in file order:\n%v", errs)
		}
	}
}

func TestProviderSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "empty", " \n")
	writeFile(t, dir, "two-lines", secret+"\n"+secret+"\n")
	writeFile(t, dir, "ok", secret)
	t.Setenv("RIPCORD_EMPTY", "")
	const p = "services[0].signals.prometheus"
	tests := []struct {
		name, keys, path, msg string
	}{
		{"literal", "token: " + secret, p + ".token", "must be an environment reference such as ${TOKEN}; secrets are not accepted inline: use token_file: PATH or token: ${ENV}"},
		{"unbraced env", "token: $RIPCORD_X", p + ".token", "must be an environment reference"},
		{"env unset", "token: '${RIPCORD_NOT_SET_ANYWHERE}'", p + ".token", "environment variable RIPCORD_NOT_SET_ANYWHERE is not set or is empty"},
		{"env empty", "token: '${RIPCORD_EMPTY}'", p + ".token", "RIPCORD_EMPTY is not set"},
		{"missing file", "token_file: nope", p + ".token_file", "file " + filepath.Join(dir, "nope") + " does not exist (relative paths start at the config file's directory)"},
		{"empty file", "token_file: empty", p + ".token_file", "is empty"},
		{"two lines", "token_file: two-lines", p + ".token_file", "several lines"},
		{"both", "token_file: ok, token: '${X}'", p + ".token", "sets both token_file and token: keep exactly one"},
		{"not a scalar", "token_file: [ok]", p + ".token_file", "must be a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrs(t, withSignals(t, "      prometheus: {url: 'http://x:9090', "+tt.keys+"}"), dir)
			wantProblem(t, errs, tt.path, 13, tt.msg)
			if text := errs.Error() + fmt.Sprintf("%v %+v %#v", errs, errs, errs); strings.Contains(text, secret) {
				t.Errorf("secret leaked into the error:\n%s", text)
			}
		})
	}
	// A null secret key is as if it were absent, and a failed secret keeps
	// the provider's own "is required" from following it.
	cfg := mustParse(t, withSignals(t, "      prometheus: {url: 'http://x:9090', token:}"), dir)
	if c, err := Decode[fakeSource](cfg.Services[0].Signals.Providers[0]); err != nil || c.Token != "" {
		t.Errorf("null token: %+v %v", c, err)
	}
	src := notifyHead + "    - {name: pager, pagerduty: {key_file: nope}}\n"
	errs := parseErrs(t, src, dir)
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, "does not exist") {
		t.Errorf("want only the file problem, got:\n%v", errs)
	}
}

func TestProviderBlocksAcrossAliases(t *testing.T) {
	dir := t.TempDir()
	src := withSignals(t, "      prometheus: &prom {url: 'http://x:9090', timeout: 1s, file: a.yaml}") +
		`  - name: second
    proxy: {listen: 127.0.0.1:8081}
    versions: [{name: v1, url: http://127.0.0.1:9101}]
    signals:
      prometheus:
        <<: *prom
        timeout: 3s
      probe: *prom
      registry:
`
	cfg := mustParse(t, src, dir)
	s := cfg.Services[1].Signals.Providers
	if len(s) != 2 {
		t.Fatalf("a null block must be absent: %+v", s)
	}
	merged, err := Decode[fakeSource](s[0])
	if err != nil || merged.Timeout != 3*time.Second || merged.URL != "http://x:9090" || merged.File != field.File(filepath.Join(dir, "a.yaml")) {
		t.Errorf("merged block = %+v %v", merged, err)
	}
	aliased, err := Decode[fakeSource](s[1])
	if err != nil || aliased.Timeout != time.Second {
		t.Errorf("aliased block = %+v %v", aliased, err)
	}
}

func TestNoProvidersMeansNoBlocks(t *testing.T) {
	_, err := Parse([]byte(withSignals(t, "      prometheus: {url: 'http://x:9090'}")), "", Providers{})
	wantProblem(t, problemsOf(t, err), "services[0].signals.prometheus", 13, `unknown key "prometheus"; valid keys here are headers`)
}

func TestBlockOf(t *testing.T) {
	c, err := Decode[fakeSource](BlockOf("prometheus", fakeSource{URL: "http://x:9090", Mode: "slow"}))
	if err != nil || c.Mode != "slow" {
		t.Errorf("value: %+v %v", c, err)
	}
	if _, err := Decode[fakeSource](BlockOf("prometheus", &fakeSource{URL: "http://x:9090"})); err != nil {
		t.Errorf("pointer: %v", err)
	}
	_, err = Decode[fakeSource](BlockOf("prometheus", fakeSource{Mode: "turbo"}))
	errs := problemsOf(t, err)
	wantProblem(t, errs, "prometheus.url", 0, "is required")
	wantProblem(t, errs, "prometheus.mode", 0, "must be fast or slow")
	_, err = Decode[fakeSource](BlockOf("prometheus", fakeChannel{}))
	wantProblem(t, problemsOf(t, err), "prometheus", 0, "internal error: a prometheus block holds config.fakeChannel")
}

func TestExternalTargetTakesNoVersions(t *testing.T) {
	src := mutate(t, "    policy:\n", "    target:\n      kubernetes: {name: x}\n    policy:\n")
	errs := parseErrs(t, src, "")
	wantProblem(t, errs, "services[0]", 4, "a kubernetes target takes its versions from what it reverts, not from this file: remove proxy and versions")
	ok := `services:
  - name: llm-api
    target:
      kubernetes: {name: x}
  - name: other
    proxy: {listen: 127.0.0.1:8080}
    versions: [{name: v1, url: http://127.0.0.1:9001}]
`
	cfg := mustParse(t, ok, "")
	if !cfg.Services[0].External() || cfg.Services[1].External() || cfg.Services[0].Target.Provider().Kind != "kubernetes" || cfg.Services[1].Target.Provider() != nil {
		t.Errorf("External/Provider wrong: %+v", cfg.Services)
	}
}

// The daemon-wide signals.<kind> blocks (the OTLP receiver) route like a
// service's: decoded by their kind, problems at their path and line, an
// unknown kind named with the valid ones.
func TestReceiverBlocks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "otlp.token", secret+"\n")
	cfg := mustParse(t, base+"signals:\n  otlp: {key_file: otlp.token, channel: x}\n", dir)
	b := cfg.Signals.Receiver("otlp")
	if b == nil || b.Path != "signals.otlp" || b.Line != 18 || cfg.Signals.Receiver("prometheus") != nil {
		t.Fatalf("receiver block %+v", b)
	}
	c, err := Decode[fakeChannel](*b)
	if err != nil || c.Key.Reveal() != secret {
		t.Errorf("decoded %+v, %v", c, err)
	}
	errs := parseErrs(t, base+"signals:\n  otlp: {key_file: nope.token}\n  otpl: {}\n", dir)
	wantProblem(t, errs, "signals.otlp.key_file", 18, "does not exist")
	wantProblem(t, errs, "signals.otpl", 19, `unknown key "otpl" (did you mean "otlp"?); valid keys here are otlp`)
}
