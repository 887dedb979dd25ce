package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

// The path and sig= of a Workflows trigger URL; sig is the credential.
const (
	hookPath = "/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke"
	sig      = "SiGnAtUrE-sEcReT-0123456789"
	query    = "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig
)

type fakeTeams struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newFakeTeams(t *testing.T) *fakeTeams {
	f := &fakeTeams{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != hookPath || r.URL.Query().Get("sig") != sig {
			t.Errorf("request %s %s, want POST to the trigger URL with its sig", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, b)
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted) // what Workflows answers
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTeams) Bodies() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.bodies...)
}

func msg(u notify.Update, sev incident.Severity) notify.Message {
	return notify.Message{
		Update: u, IncidentID: "inc-42", Service: "checkout", Kind: incident.KindRollback,
		Severity: sev, Status: incident.Identified, Title: "checkout error rate 9.1%",
		Reason: "error_rate 9.1% > 2% for 3m", From: "v2.4.0", To: "v2.3.9",
		ReportURL: "https://ripcord.example/incidents/inc-42",
		At:        time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Seq: 2,
		Event: &incident.Event{Type: incident.EvRollbackDone, Actor: "ripcord", Message: "now on v2.3.9"},
	}
}

func mustNew(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// get walks decoded JSON by keys and indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not an object", path)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: no element %d", path, k)
			}
			v = a[k]
		}
	}
	return v
}

func TestAdaptiveCardStructure(t *testing.T) {
	f := newFakeTeams(t)
	n := mustNew(t, Config{WebhookURL: notify.Secret(f.srv.URL + hookPath + query)})
	if err := n.Notify(context.Background(), msg(notify.Updated, incident.Critical)); err != nil {
		t.Fatal(err)
	}
	var p any
	if err := json.Unmarshal(f.Bodies()[0], &p); err != nil {
		t.Fatal(err)
	}
	if get(t, p, "type") != "message" || len(get(t, p, "attachments").([]any)) != 1 {
		t.Fatalf("payload = %v, want a message with one attachment", p)
	}
	att := get(t, p, "attachments", 0)
	if get(t, att, "contentType") != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("contentType = %v", get(t, att, "contentType"))
	}
	card := get(t, att, "content")
	for k, want := range map[string]string{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
	} {
		if get(t, card, k) != want {
			t.Errorf("content.%s = %v, want %s", k, get(t, card, k), want)
		}
	}
	body := get(t, card, "body").([]any)
	if len(body) != 4 {
		t.Fatalf("body has %d elements, want title, subtitle, facts, event", len(body))
	}
	title := body[0].(map[string]any)
	if title["type"] != "TextBlock" || title["text"] != "checkout error rate 9.1%" || title["color"] != "Attention" ||
		title["weight"] != "Bolder" || title["wrap"] != true {
		t.Errorf("title = %v", title)
	}
	if body[1].(map[string]any)["text"] != "updated · incident identified" {
		t.Errorf("subtitle = %v", body[1])
	}
	checkFacts(t, body[2])
	if ev := body[3].(map[string]any); ev["type"] != "TextBlock" || ev["text"] != "**rollback_done** by ripcord: now on v2.3.9" {
		t.Errorf("event block = %v", ev)
	}
	act := get(t, card, "actions", 0)
	if get(t, act, "type") != "Action.OpenUrl" || get(t, act, "url") != "https://ripcord.example/incidents/inc-42" {
		t.Errorf("action = %v", act)
	}
}

func checkFacts(t *testing.T, set any) {
	t.Helper()
	if get(t, set, "type") != "FactSet" {
		t.Errorf("body[2] = %v, want FactSet", set)
	}
	facts := get(t, set, "facts").([]any)
	want := [][2]string{
		{"Service", "checkout"}, {"Severity", "critical"}, {"Status", "identified"},
		{"Version", "v2.4.0 → v2.3.9"}, {"Reason", "error_rate 9.1% > 2% for 3m"}, {"Incident", "inc-42"},
	}
	if len(facts) != len(want) {
		t.Fatalf("facts = %v", facts)
	}
	for i, w := range want {
		if get(t, facts[i], "title") != w[0] || get(t, facts[i], "value") != w[1] {
			t.Errorf("fact %d = %v, want %v", i, facts[i], w)
		}
	}
}

func TestResolvedCard(t *testing.T) {
	m := msg(notify.Resolved, incident.Major)
	m.Event, m.ReportURL = nil, ""
	c := NewPayload(m).Attachments[0].Content
	if c.Body[0].Color != "Good" || !strings.HasPrefix(c.Body[0].Text, "Resolved: ") {
		t.Errorf("title = %+v", c.Body[0])
	}
	if len(c.Body) != 3 || c.Actions != nil {
		t.Errorf("no event and no report should leave 3 blocks and no actions: %+v", c)
	}
}

func TestRetryClassification(t *testing.T) {
	notifytest.RetryClassification(t, "teams webhook", func(t *testing.T, base string) error {
		return mustNew(t, Config{WebhookURL: notify.Secret(base + hookPath + query)}).Notify(context.Background(), msg(notify.Opened, incident.Major))
	}, sig, hookPath)
}

func TestSecretsNeverInErrors(t *testing.T) {
	check := func(what string, err error, retryable bool) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if s := fmt.Sprintf("%v %+v", err, err); strings.Contains(s, sig) || strings.Contains(s, hookPath) {
			t.Errorf("%s: error leaks the webhook URL: %s", what, s)
		}
		if r, _ := notify.IsRetryable(err); r != retryable {
			t.Errorf("%s: retryable = %v, want %v", what, r, retryable)
		}
	}
	ctx := context.Background()
	srv := httptest.NewServer(http.NotFoundHandler())
	n := mustNew(t, Config{WebhookURL: notify.Secret(srv.URL + hookPath + query)})
	srv.Close()
	check("connection refused", n.Notify(ctx, msg(notify.Opened, incident.Minor)), true)
	slow := mustNew(t, Config{WebhookURL: "http://192.0.2.1" + hookPath + query, Timeout: time.Millisecond})
	check("timeout", slow.Notify(ctx, msg(notify.Opened, incident.Minor)), true)
	_, err := New(Config{WebhookURL: "prod-00.logic.azure.com" + hookPath + query})
	check("New", err, false)

	tc := Config{WebhookURL: "https://prod-00.logic.azure.com" + hookPath + query}
	notifytest.CheckNotPrinted(t, []string{sig, hookPath}, tc, mustNew(t, tc))
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{}, {WebhookURL: "ftp://x/y"}, {WebhookURL: "https://x/y", Timeout: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("accepted %v", cfg)
		}
	}
	if n := mustNew(t, Config{WebhookURL: "https://x/y"}); n.client.Timeout != DefaultTimeout {
		t.Errorf("timeout = %s", n.client.Timeout)
	}
}
