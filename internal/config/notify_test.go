package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNotifyConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pd.key"), []byte("pd-secret-routing-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOK_SECRET", "whsec-env-secret")
	good := `services:
  - name: svc
    proxy: {listen: 127.0.0.1:8080}
    versions: [{name: v1, url: http://127.0.0.1:9001}]
notify:
  channels:
    - {name: pager, pagerduty: {routing_key_file: pd.key}}
    - {name: hooks, webhook: {url: https://hooks.example.com/x, secret: "${HOOK_SECRET}"}}
  routes:
    - {channel: pager, min_severity: critical}
    - {channel: hooks}
`
	cfg, err := Parse([]byte(good), dir)
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notify
	if n.Channels[0].PagerDuty.RoutingKey != "pd-secret-routing-key" || n.Channels[1].Webhook.Secret != "whsec-env-secret" {
		t.Fatalf("secrets not resolved: %+v", n.Channels)
	}
	if n.Routes[1].MinSeverity != "minor" || n.Channels[0].Kind() != "pagerduty" {
		t.Fatalf("defaults: %+v", n.Routes)
	}
	red := cfg.Redacted()
	if s := fmt.Sprintf("%+v %+v", *red.Notify.Channels[0].PagerDuty, *red.Notify.Channels[1].Webhook); strings.Contains(s, "secret-routing") || strings.Contains(s, "env-secret") {
		t.Fatalf("redacted config shows a secret: %s", s)
	}
	if cfg.Notify.Channels[0].PagerDuty.RoutingKey == "" {
		t.Fatal("Redacted changed the original")
	}

	bad := `services:
  - name: svc
    proxy: {listen: 127.0.0.1:8080}
    versions: [{name: v1, url: http://127.0.0.1:9001}]
notify:
  channels:
    - {name: pager, pagerduty: {routing_key: literal-secret-value}}
    - {name: two, slack: {webhook_url_file: nope.url}, teams: {webhook_url_file: x}}
    - {name: none}
  routes:
    - {channel: pagr, min_severity: urgent}
`
	_, err = Parse([]byte(bad), dir)
	if err == nil {
		t.Fatal("bad notify config accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"notify.channels[0].pagerduty.routing_key: line 7: must be an environment reference",
		"notify.channels[1]: line 8: sets slack and teams",
		"notify.channels[2]: line 9: sets no channel kind",
		`notify.routes[0].channel: line 11: "pagr" is not a channel`,
		`notify.routes[0].min_severity: line 11: must be one of minor, major, critical, not "urgent"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "literal-secret-value") {
		t.Fatal("error repeats a literal secret")
	}
}
