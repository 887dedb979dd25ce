package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const notifyHead = `services:
  - name: svc
    proxy: {listen: 127.0.0.1:8080}
    versions: [{name: v1, url: http://127.0.0.1:9001}]
notify:
  channels:
`

func TestNotifyConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pd.key"), []byte("pd-secret-routing-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOK_SECRET", "whsec-env-secret")
	good := notifyHead + `    - {name: pager, pagerduty: {key_file: pd.key}}
    - {name: chat, slack: {key: "${HOOK_SECRET}", channel: "#ops"}}
  routes:
    - {channel: pager, min_severity: critical}
    - {channel: chat}
`
	cfg, err := Parse([]byte(good), dir, testProviders)
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notify
	if n.Routes[1].MinSeverity != "minor" || n.Channels[0].Kind() != "pagerduty" || n.Channels[1].Kind() != "slack" {
		t.Fatalf("defaults and kinds: %+v", n)
	}
	pd, err := Decode[fakeChannel](n.Channels[0].Providers[0])
	if err != nil || pd.Key.Reveal() != "pd-secret-routing-key" {
		t.Fatalf("file secret = %v, %v", pd, err)
	}
	chat, err := Decode[fakeChannel](n.Channels[1].Providers[0])
	if err != nil || chat.Key.Reveal() != "whsec-env-secret" || chat.Channel != "#ops" {
		t.Fatalf("env secret = %v, %v", chat, err)
	}
	if p := n.Channels[1].Providers[0]; p.Path != "notify.channels[1].slack" || p.Line != 8 {
		t.Errorf("block at %s line %d", p.Path, p.Line)
	}
}

func TestNotifyProblems(t *testing.T) {
	bad := notifyHead + `    - {name: pager, pagerduty: {key: literal-secret-value}}
    - {name: two, slack: {key_file: nope.url}, teams: {key_file: x}}
    - {name: none}
    - {name: pager, slak: {key: "${X}"}}
    - {slack: {channel: "#x"}}
  routes:
    - {channel: pagr, min_severity: urgent}
`
	_, err := Parse([]byte(bad), t.TempDir(), testProviders)
	if err == nil {
		t.Fatal("bad notify config accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"notify.channels[0].pagerduty.key: line 7: must be an environment reference such as ${KEY}",
		"notify.channels[1]: line 8: sets slack and teams: one channel has exactly one kind",
		"notify.channels[1].slack.key_file: line 8: file ",
		"notify.channels[2]: line 9: sets no channel kind: add one of slack, pagerduty, teams",
		`notify.channels[3].name: line 10: channel name "pager" is used twice`,
		`notify.channels[3].slak: line 10: unknown key "slak" (did you mean "slack"?); valid keys here are name, slack, pagerduty, teams`,
		"notify.channels[4].name: line 11: is required",
		"notify.channels[4].slack.key: line 11: is required: set key_file: PATH (a file holding it) or key: ${ENV_VAR}",
		`notify.routes[0].channel: line 13: "pagr" is not a channel`,
		`notify.routes[0].min_severity: line 13: must be one of minor, major, critical, not "urgent"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "literal-secret-value") {
		t.Fatal("error repeats a literal secret")
	}
	if strings.Count(msg, "\n")+1 != len(problemsOf(t, err)) {
		t.Errorf("one problem per line expected:\n%s", msg)
	}
}
