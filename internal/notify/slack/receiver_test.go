package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

// call is one request the fake Slack received.
type call struct {
	Method string // chat.postMessage, chat.update or "webhook"
	Header http.Header
	Form   url.Values     // Web API calls: the form slack-go sent
	JSON   map[string]any // webhook calls: the decoded body
}

// fakeSlack answers like slack.com: Web API methods under /api/ with
// form-encoded requests, incoming webhooks under /services/ with JSON.
type fakeSlack struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	calls []call
	next  int // ts counter
	// respond, when set, answers instead of the default success.
	respond func(w http.ResponseWriter, c call) bool
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	c := call{Header: r.Header.Clone()}
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/api/chat.postMessage" || r.URL.Path == "/api/chat.update":
		c.Method = r.URL.Path[len("/api/"):]
		form, err := url.ParseQuery(string(body))
		if err != nil {
			f.t.Errorf("%s: body is not form-encoded: %v", c.Method, err)
		}
		c.Form = form
	case len(r.URL.Path) > len("/services/") && r.URL.Path[:len("/services/")] == "/services/":
		c.Method = "webhook"
		if err := json.Unmarshal(body, &c.JSON); err != nil {
			f.t.Errorf("webhook: body is not JSON: %v", err)
		}
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		f.t.Errorf("%s: method %s, want POST", c.Method, r.Method)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.next++
	ts := fmt.Sprintf("1700000000.%06d", f.next)
	f.mu.Unlock()
	if f.respond != nil && f.respond(w, c) {
		return
	}
	switch c.Method {
	case "webhook":
		_, _ = io.WriteString(w, "ok")
	case "chat.update":
		writeJSON(w, map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": c.Form.Get("ts")})
	default:
		writeJSON(w, map[string]any{"ok": true, "channel": "C0123CHAN", "ts": ts})
	}
}

func (f *fakeSlack) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeSlack) methods() []string {
	var out []string
	for _, c := range f.Calls() {
		out = append(out, c.Method)
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func msg(u notify.Update, seq int64) notify.Message {
	return notify.Message{
		Update:     u,
		IncidentID: "inc-42",
		Service:    "checkout",
		Kind:       incident.KindRollback,
		Severity:   incident.Major,
		Status:     incident.Investigating,
		Title:      "checkout error rate 9.1% after v2.4.0",
		Reason:     "error_rate 9.1% > 2% for 3m (baseline 0.4%)",
		From:       "v2.4.0",
		To:         "v2.3.9",
		ReportURL:  "https://ripcord.example/incidents/inc-42",
		At:         time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Seq:        seq,
		Event:      &incident.Event{Type: incident.EvOpened, Actor: "ripcord", Message: "opened"},
	}
}

func mustNew(t *testing.T, cfg Config, opts ...Option) *Notifier {
	t.Helper()
	n, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}
