package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/email"
	"github.com/ripcord/ripcord/internal/notify/slack"
	"github.com/ripcord/ripcord/internal/revert/kubernetes"
	"github.com/ripcord/ripcord/internal/signal/probe"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

const (
	secretValue = "s3cr3t-app-do-not-print-91c4"
	// A Standard Webhooks secret: 32 bytes of base64.
	whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="
)

// everyKind is a config using every provider kind in the table, the way
// docs/config.md shows them.
const everyKind = `services:
  - name: llm-api
    proxy: {listen: 127.0.0.1:8080}
    versions: [{name: v1, url: http://127.0.0.1:9001}]
    signals:
      prometheus:
        url: http://127.0.0.1:9090
        job: llm-api
        samples: sum(increase(http_requests_total{version="{{.Version}}"}[30s]))
        queries:
          error_rate: sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[30s])) / sum(rate(http_requests_total{version="{{.Version}}"}[30s]))
      probe: {file: probes.yaml, interval: 10s}
  - name: k8s-api
    target:
      kubernetes: {kubeconfig: kube/config, namespace: llm, deployment: llm-api}
notify:
  channels:
    - {name: slack-bot, slack: {token_file: secret, channel: "#incidents"}}
    - {name: slack-hook, slack: {webhook_url: "${APP_TEST_URL_SECRET}"}}
    - {name: pager, pagerduty: {routing_key_file: secret}}
    - {name: status, statuspage: {api_key_file: secret, page_id: kctbh9vrtdwd}}
    - {name: jira, jira: {base_url: "https://example.atlassian.net", email: bot@example.com, api_token_file: secret, project: OPS}}
    - {name: gh, github: {token_file: secret, owner: acme, repo: incidents}}
    - {name: hook, webhook: {url: "https://hooks.example.com/x", secret_file: whsec}}
    - {name: am, alertmanager: {url: "http://127.0.0.1:9093", bearer_token_file: secret}}
    - {name: teams, teams: {webhook_url: "${APP_TEST_URL_SECRET}"}}
    - {name: mail, email: {addr: "smtp.example.com:587", from: ripcord@example.com, to: [oncall@example.com], username: ripcord, password_file: secret}}
  routes:
    - {channel: pager, min_severity: critical}
`

// configDir writes the files everyKind refers to.
func configDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"secret":      secretValue + "\n",
		"whsec":       whsec,
		"probes.yaml": "probes:\n  - path: /healthz\n    expect: {status: 200}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("APP_TEST_URL_SECRET", "https://hooks.example.com/services/"+secretValue)
	return dir
}

func TestEveryProviderKindDecodes(t *testing.T) {
	dir := configDir(t)
	cfg, err := config.Parse([]byte(everyKind), dir, Providers())
	if err != nil {
		t.Fatalf("every kind as documented: %v", err)
	}
	sig := cfg.Services[0].Signals.Providers
	prom, err := config.Decode[prometheus.Config](sig[0])
	if err != nil || prom.Job != "llm-api" || len(prom.Queries) != 1 {
		t.Errorf("prometheus = %+v %v", prom, err)
	}
	pr, err := config.Decode[probe.Config](sig[1])
	if err != nil || pr.File != field.File(filepath.Join(dir, "probes.yaml")) || pr.Interval != 10*time.Second {
		t.Errorf("probe = %+v %v (the file is relative to the config)", pr, err)
	}
	kc, err := config.Decode[kubernetes.Config](*cfg.Services[1].Target.Provider())
	if err != nil || kc.Kubeconfig != field.File(filepath.Join(dir, "kube/config")) {
		t.Errorf("kubernetes = %+v %v", kc, err)
	}
	sl, err := config.Decode[slack.Config](cfg.Notify.Channels[0].Providers[0])
	if err != nil || sl.Token.Reveal() != secretValue || sl.Mode() != "bot" {
		t.Errorf("slack bot = %v %v", sl, err)
	}
	em, err := config.Decode[email.Config](cfg.Notify.Channels[9].Providers[0])
	if err != nil || em.Password.Reveal() != secretValue {
		t.Errorf("email = %v %v", em, err)
	}
	// Every channel builds from its block, as the daemon builds it.
	for _, c := range cfg.Notify.Channels {
		n, err := notifier(c, &notify.MemState{})
		if err != nil || n == nil {
			t.Errorf("channel %s (%s): %v", c.Name, c.Kind(), err)
		}
		if s := fmt.Sprintf("%v %+v", n, n); strings.Contains(s, secretValue) {
			t.Errorf("channel %s prints its secret: %s", c.Name, s)
		}
	}
}

// Each kind's own Validate is reached through the file, with the path and
// line of the key and the provider's message.
func TestProviderProblemsInTheFile(t *testing.T) {
	dir := configDir(t)
	tests := []struct {
		name, old, repl, path string
		line                  int
		msg                   string
	}{
		{"kubernetes mode", "namespace: llm, deployment: llm-api}", "namespace: llm, deployment: llm-api, mode: canary}", "services[1].target.kubernetes.mode", 15, `must be rollout-undo, service-selector or httproute, not "canary"`},
		{"kubernetes namespace", "namespace: llm, ", "", "services[1].target.kubernetes.namespace", 15, "is required"},
		{"kubernetes unknown key", "deployment: llm-api}", "deploymnet: llm-api}", "services[1].target.kubernetes.deploymnet", 15, `did you mean "deployment"?`},
		{"kubernetes kind typo", "      kubernetes:", "      kubernets:", "services[1].target.kubernets", 15, "valid keys here are kubernetes"},
		{"prometheus quoting", `version="{{.Version}}",code`, `version='{{.Version}}',code`, "services[0].signals.prometheus.queries.error_rate", 11, "variable Version must be used inside double quotes"},
		{"prometheus samples", "        samples: sum(increase(http_requests_total{version=\"{{.Version}}\"}[30s]))\n", "", "services[0].signals.prometheus.samples", 6, "is required"},
		{"prometheus counts unit", "        queries:\n", "        counts:\n          latency_p99_ms: {histogram: 'x_bucket{version=\"{{.Version}}\"}', unit: us}\n        queries:\n",
			"services[0].signals.prometheus.counts.latency_p99_ms.unit", 11, "must be s or ms"},
		{"prometheus counts windowed", "        queries:\n", "        counts:\n          error_rate:\n            total: 'sum(increase(x{version=\"{{.Version}}\"}[1m]))'\n            bad: 'x{version=\"{{.Version}}\"}'\n        queries:\n",
			"services[0].signals.prometheus.counts.error_rate.total", 12, "must read the raw counter"},
		{"probe file", "file: probes.yaml", "file: nope.yaml", "services[0].signals.probe.file", 12, "probe file: open " + filepath.Join(dir, "nope.yaml")},
		{"signal kind typo", "      probe:", "      prob:", "services[0].signals.prob", 12, `(did you mean "probe"?); valid keys here are headers, prometheus, probe`},
		{"slack channel", `slack: {token_file: secret, channel: "#incidents"}`, "slack: {token_file: secret}", "notify.channels[0].slack.channel", 18, "is required with a bot token"},
		{"slack nothing", `slack: {token_file: secret, channel: "#incidents"}`, "slack: {channel: x}", "notify.channels[0].slack", 18, "needs webhook_url_file (incoming webhook) or token_file with channel (bot)"},
		{"pagerduty key", "pagerduty: {routing_key_file: secret}", "pagerduty: {url: 'https://events.eu.pagerduty.com'}", "notify.channels[2].pagerduty.routing_key", 20, "is required: set routing_key_file: PATH"},
		{"pagerduty literal", "pagerduty: {routing_key_file: secret}", "pagerduty: {routing_key: " + secretValue + "}", "notify.channels[2].pagerduty.routing_key", 20, "secrets are not accepted inline"},
		{"statuspage page", "page_id: kctbh9vrtdwd", "component_id: x", "notify.channels[3].statuspage.page_id", 21, "is required"},
		{"jira project", ", project: OPS", "", "notify.channels[4].jira.project", 22, "is required"},
		{"jira credentials", `base_url: "https://example.atlassian.net"`, `base_url: "https://bot:pw@example.atlassian.net"`, "notify.channels[4].jira.base_url", 22, "must not contain credentials"},
		{"github repo", ", repo: incidents", "", "notify.channels[5].github.repo", 23, "is required"},
		{"webhook secret", "secret_file: whsec", "secret_file: secret", "notify.channels[6].webhook.secret", 24, "is not whsec_ followed by standard base64"},
		{"webhook url", `url: "https://hooks.example.com/x"`, "url: /x", "notify.channels[6].webhook.url", 24, "must be an absolute http(s) URL"},
		{"alertmanager ttl", "bearer_token_file: secret}", "bearer_token_file: secret, alert_ttl: -1h}", "notify.channels[7].alertmanager.alert_ttl", 25, "must not be negative"},
		{"teams missing file", `teams: {webhook_url: "${APP_TEST_URL_SECRET}"}`, "teams: {webhook_url_file: gone}", "notify.channels[8].teams.webhook_url_file", 26, "does not exist"},
		{"email recipient", "to: [oncall@example.com]", "to: [oncall@]", "notify.channels[9].email.to[0]", 27, "is not an address"},
		{"email tls", "password_file: secret}", "password_file: secret, tls: ssl}", "notify.channels[9].email.tls", 27, `must be starttls, require_starttls, tls or none, not "ssl"`},
		{"channel kind typo", "{name: teams, teams:", "{name: teams, temas:", "notify.channels[8].temas", 26, `(did you mean "teams"?); valid keys here are name, slack, pagerduty, statuspage, jira, github, webhook, alertmanager, teams, email`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(everyKind, tt.old) {
				t.Fatalf("everyKind has no %q", tt.old)
			}
			src := strings.Replace(everyKind, tt.old, tt.repl, 1)
			_, err := config.Parse([]byte(src), dir, Providers())
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("accepted, or not config.Errors: %v", err)
			}
			found := false
			for _, p := range errs {
				found = found || (p.Path == tt.path && p.Line == tt.line && strings.Contains(p.Msg, tt.msg))
			}
			if !found {
				t.Errorf("no problem at %s line %d containing %q; got:\n%v", tt.path, tt.line, tt.msg, errs)
			}
			if strings.Contains(errs.Error(), secretValue) || strings.Contains(errs.Error(), ":pw@") {
				t.Errorf("a secret leaks into the problems:\n%v", errs)
			}
		})
	}
}

// Go code building a Config gives typed blocks; New decodes them the same
// way and reports a bad one without starting anything.
func TestNewRejectsBadProviderBlocks(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://:memory:"},
			Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1",
				Policy: config.DefaultPolicy(), Versions: []config.Version{{Name: "v1", URL: "http://127.0.0.1:9001"}}}}}
	}
	for _, tc := range []struct {
		name string
		mut  func(*config.Config)
		want string
	}{
		{"signal", func(c *config.Config) {
			c.Services[0].Signals.Providers = []config.Block{config.BlockOf("prometheus", prometheus.Config{URL: "x"})}
		}, "app: service svc: signals.prometheus: prometheus.url: must be an absolute http(s) URL"},
		{"unknown signal", func(c *config.Config) {
			c.Services[0].Signals.Providers = []config.Block{config.BlockOf("graphite", prometheus.Config{})}
		}, "signals.graphite: no such signal source"},
		{"target", func(c *config.Config) {
			c.Services[0].Target.Providers = []config.Block{config.BlockOf("kubernetes", kubernetes.Config{})}
		}, "app: service svc: target.kubernetes: kubernetes.namespace: is required"},
		{"unknown target", func(c *config.Config) {
			c.Services[0].Target.Providers = []config.Block{config.BlockOf("nomad", kubernetes.Config{})}
		}, "target.nomad: no such revert target"},
		{"channel", func(c *config.Config) {
			c.Notify = config.Notify{Channels: []config.Channel{{Name: "p", Providers: []config.Block{config.BlockOf("slack", slack.Config{})}}},
				Routes: []config.Route{{Channel: "p", MinSeverity: "minor"}}}
		}, "app: notify channel p: slack: needs webhook_url_file"},
		{"wrong type", func(c *config.Config) {
			c.Notify = config.Notify{Channels: []config.Channel{{Name: "p", Providers: []config.Block{config.BlockOf("slack", email.Config{})}}},
				Routes: []config.Route{{Channel: "p", MinSeverity: "minor"}}}
		}, "internal error: a slack block holds email.Config, want slack.Config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mut(cfg)
			a, err := New(t.Context(), cfg, Options{})
			if err == nil {
				_ = a.Stop(t.Context())
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestProvidersTableIsConsistent(t *testing.T) {
	p := Providers()
	// A name is unique within its section; "webhook" is both a revert
	// target and a notification channel, in different sections.
	for _, section := range [][]config.Kind{p.Signals, p.Targets, p.Channels, p.Schemas} {
		seen := map[string]bool{}
		for _, k := range section {
			if k.Name == "" || k.Check == nil || seen[k.Name] {
				t.Errorf("kind %q: empty, unchecked or listed twice", k.Name)
			}
			seen[k.Name] = true
		}
	}
	if len(p.Signals) != len(signalKinds) || len(p.Targets) != len(targetKinds) || len(p.Channels) != len(channelKinds) {
		t.Error("Providers lost a kind")
	}
}

// Sources answer in table order across services: every service's
// Prometheus queries before any probe file, then headers and pushes.
func TestOptionalSourcesInTableOrder(t *testing.T) {
	dir := configDir(t)
	src := everyKind[:strings.Index(everyKind, "  - name: k8s-api")] + `  - name: other
    proxy: {listen: 127.0.0.1:8081}
    versions: [{name: v1, url: http://127.0.0.1:9101}]
    signals:
      probe: {file: probes.yaml}
      prometheus: {url: "http://127.0.0.1:9090", samples: 'x{v="{{.Version}}"}', queries: {latency_p99_ms: 'p99{v="{{.Version}}"}'}}
`
	cfg, err := config.Parse([]byte(src), dir, Providers())
	if err != nil {
		t.Fatal(err)
	}
	// Not the default ripcord.db beside the test binary's working
	// directory: a test must leave the checkout as it found it.
	cfg.Store.URL = "sqlite://" + filepath.Join(dir, "ripcord.db")
	a, err := New(t.Context(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(t.Context())
	srcs, err := a.optionalSources(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range srcs {
		kinds = append(kinds, fmt.Sprintf("%T", s))
	}
	want := "[*prometheus.Gated *prometheus.Gated *probe.Prober *probe.Prober *proxystats.Headers *push.Store]"
	if fmt.Sprint(kinds) != want {
		t.Errorf("sources %v, want %s", kinds, want)
	}
	if !srcs[0].Expected("llm-api", "error_rate") || !srcs[1].Expected("other", "latency_p99_ms") || srcs[1].Expected("llm-api", "error_rate") {
		t.Error("each Prometheus source must expect its own service's queries only")
	}
	if len(a.probers) != 4 { // optionalSources ran twice: New's and ours
		t.Errorf("probers = %d", len(a.probers))
	}
}

// Only routed channels are built, each with the lowest severity any of its
// routes lets through.
func TestChannelsFollowRoutes(t *testing.T) {
	dir := configDir(t)
	src := strings.Replace(everyKind, "    - {channel: pager, min_severity: critical}\n",
		"    - {channel: pager, min_severity: critical}\n    - {channel: pager, min_severity: major}\n    - {channel: mail}\n", 1)
	cfg, err := config.Parse([]byte(src), dir, Providers())
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	chans, err := channels(cfg.Notify, st)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range chans {
		got[c.Name] = string(c.MinSeverity)
	}
	if fmt.Sprint(got) != "map[mail:minor pager:major]" {
		t.Errorf("channels = %v, want pager at major and mail at minor, nothing unrouted", got)
	}
}

func TestLoadConfigChecksProviders(t *testing.T) {
	cfg, err := LoadConfig("../config/testdata/example.yaml")
	if err != nil || len(cfg.Services) != 1 {
		t.Fatalf("example: %v", err)
	}
	dir := configDir(t)
	path := filepath.Join(dir, "ripcord.yaml")
	bad := strings.Replace(everyKind, "namespace: llm, ", "", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "config "+path+": 1 problem(s):\nservices[1].target.kubernetes.namespace: line 15: is required") {
		t.Errorf("LoadConfig = %v", err)
	}
}

func TestNotifierNeedsOneKnownKind(t *testing.T) {
	for _, tc := range []struct {
		c    config.Channel
		want string
	}{
		{config.Channel{Name: "x"}, "sets 0 channel kinds, want exactly one"},
		{config.Channel{Name: "x", Providers: []config.Block{config.BlockOf("slack", slack.Config{}), config.BlockOf("email", email.Config{})}}, "sets 2 channel kinds"},
		{config.Channel{Name: "x", Providers: []config.Block{config.BlockOf("carrier-pigeon", slack.Config{})}}, "carrier-pigeon: no such channel kind"},
	} {
		if _, err := notifier(tc.c, &notify.MemState{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.c, err, tc.want)
		}
	}
}
