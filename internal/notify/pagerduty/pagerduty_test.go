package pagerduty

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

const routingKey = "R0UT1NGK3Y0123456789abcdefSECRET"

// fakeEvents is an Events API v2 receiver that keeps every event body.
type fakeEvents struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
}

func newFake(t *testing.T) *fakeEvents {
	f := &fakeEvents{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
			t.Errorf("request %s %s, want POST /v2/enqueue", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("Events API needs no Authorization header, got one")
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("body is not JSON: %v", err)
		}
		f.mu.Lock()
		f.events = append(f.events, ev)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"status":"success","message":"Event processed","dedup_key":%q}`, ev["dedup_key"])
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEvents) Events() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

func msg(u notify.Update) notify.Message {
	return notify.Message{
		Update:     u,
		IncidentID: "inc-42",
		Service:    "checkout",
		Kind:       incident.KindRollback,
		Severity:   incident.Major,
		Status:     incident.Investigating,
		Title:      "checkout error rate 9.1% after v2.4.0",
		Reason:     "error_rate 9.1% > 2% for 3m",
		From:       "v2.4.0",
		To:         "v2.3.9",
		ReportURL:  "https://ripcord.example/incidents/inc-42",
		At:         time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Seq:        3,
		Event:      &incident.Event{Type: incident.EvRollbackStarted, Message: "rolling back"},
	}
}

func mustNew(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

func TestTriggerWireFormat(t *testing.T) {
	f := newFake(t)
	n := mustNew(t, Config{RoutingKey: routingKey, URL: f.srv.URL})
	if err := n.Notify(context.Background(), msg(notify.Opened)); err != nil {
		t.Fatal(err)
	}
	ev := f.Events()[0]
	if got := strings.Join(keys(ev), ","); got != "client,client_url,dedup_key,event_action,links,payload,routing_key" {
		t.Errorf("top-level keys = %s", got)
	}
	for k, want := range map[string]any{
		"routing_key":  routingKey,
		"event_action": "trigger",
		"dedup_key":    "ripcord-inc-42",
		"client":       "ripcord",
		"client_url":   "https://ripcord.example/incidents/inc-42",
	} {
		if ev[k] != want {
			t.Errorf("%s = %v, want %v", k, ev[k], want)
		}
	}
	links, _ := ev["links"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["href"] != "https://ripcord.example/incidents/inc-42" {
		t.Errorf("links = %v", ev["links"])
	}
	p := ev["payload"].(map[string]any)
	for k, want := range map[string]any{
		"summary":   "[major] checkout: checkout error rate 9.1% after v2.4.0",
		"source":    "checkout",
		"severity":  "error",
		"class":     "rollback",
		"timestamp": "2025-03-01T12:00:00Z",
	} {
		if p[k] != want {
			t.Errorf("payload.%s = %v, want %v", k, p[k], want)
		}
	}
	d := p["custom_details"].(map[string]any)
	for k, want := range map[string]any{
		"incident_id":  "inc-42",
		"reason":       "error_rate 9.1% > 2% for 3m",
		"from_version": "v2.4.0",
		"to_version":   "v2.3.9",
		"status":       "investigating",
		"severity":     "major",
		"kind":         "rollback",
		"update":       "opened",
		"seq":          float64(3),
		"report_url":   "https://ripcord.example/incidents/inc-42",
		"event":        "rollback_started: rolling back",
	} {
		if d[k] != want {
			t.Errorf("custom_details.%s = %v, want %v", k, d[k], want)
		}
	}
}

func TestSeverityMapping(t *testing.T) {
	for sev, want := range map[incident.Severity]string{
		incident.Critical: "critical", incident.Major: "error", incident.Minor: "warning", "": "error",
	} {
		f := newFake(t)
		m := msg(notify.Updated)
		m.Severity = sev
		if err := mustNew(t, Config{RoutingKey: routingKey, URL: f.srv.URL}).Notify(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		ev := f.Events()[0]
		if got := ev["payload"].(map[string]any)["severity"]; got != want || ev["event_action"] != "trigger" {
			t.Errorf("%q: severity %v action %v, want %s trigger", sev, got, ev["event_action"], want)
		}
	}
}

func TestResolveUsesSameDedupKey(t *testing.T) {
	f := newFake(t)
	n := mustNew(t, Config{RoutingKey: routingKey, URL: f.srv.URL})
	ctx := context.Background()
	for _, u := range []notify.Update{notify.Opened, notify.Updated, notify.Resolved} {
		if err := n.Notify(ctx, msg(u)); err != nil {
			t.Fatal(err)
		}
	}
	evs := f.Events()
	if len(evs) != 3 {
		t.Fatalf("got %d events", len(evs))
	}
	for i, ev := range evs {
		if ev["dedup_key"] != "ripcord-inc-42" || ev["routing_key"] != routingKey {
			t.Errorf("event %d: dedup_key %v routing_key ok=%v", i, ev["dedup_key"], ev["routing_key"] == routingKey)
		}
	}
	res := evs[2]
	if got := strings.Join(keys(res), ","); res["event_action"] != "resolve" || got != "dedup_key,event_action,routing_key" {
		t.Errorf("resolve = %v (keys %s), want only routing_key, event_action resolve, dedup_key", res, got)
	}
}

func TestSummaryIsCutTo1024(t *testing.T) {
	f := newFake(t)
	m := msg(notify.Opened)
	m.Title = strings.Repeat("é", 3000)
	if err := mustNew(t, Config{RoutingKey: routingKey, URL: f.srv.URL}).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	s := f.Events()[0]["payload"].(map[string]any)["summary"].(string)
	if n := utf8.RuneCountInString(s); n != 1024 || !utf8.ValidString(s) || !strings.HasSuffix(s, "…") {
		t.Errorf("summary has %d characters (valid UTF-8: %v), want 1024 ending in …", n, utf8.ValidString(s))
	}
}

// send builds a Notifier for an Events API at base and sends one event.
func send(t *testing.T, base string) error {
	return mustNew(t, Config{RoutingKey: routingKey, URL: base}).Notify(context.Background(), msg(notify.Opened))
}

func TestRetryClassification(t *testing.T) {
	notifytest.RetryClassification(t, "pagerduty trigger", send, routingKey)
}

func TestSecretsNeverInErrors(t *testing.T) {
	notifytest.EchoedSecretsRedacted(t, []int{400, 429, 500}, send, routingKey)
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		notifytest.CheckErrorHides(t, err, routingKey)
	}
	ctx := context.Background()
	slow := mustNew(t, Config{RoutingKey: routingKey, URL: "http://192.0.2.1", Timeout: time.Millisecond})
	check("timeout", slow.Notify(ctx, msg(notify.Resolved)))
	_, err := New(Config{RoutingKey: routingKey, URL: "not a url"})
	check("New", err)

	notifytest.CheckNotPrinted(t, []string{routingKey}, Config{RoutingKey: routingKey}, mustNew(t, Config{RoutingKey: routingKey}))
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no key":   {},
		"bad url":  {RoutingKey: routingKey, URL: "events.pagerduty.com"},
		"negative": {RoutingKey: routingKey, Timeout: -time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	n := mustNew(t, Config{RoutingKey: routingKey})
	if n.cfg.URL != DefaultURL || n.cfg.Timeout != DefaultTimeout {
		t.Errorf("defaults = %s %s", n.cfg.URL, n.cfg.Timeout)
	}
}
