package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify/delivery"
	"github.com/ripcord/ripcord/internal/notify/webhook"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// hookReceiver is a real webhook endpoint that checks each delivery's
// Standard Webhooks signature and records the CloudEvents it accepted.
type hookReceiver struct {
	t   *testing.T
	key []byte
	srv *httptest.Server

	mu     sync.Mutex
	events []webhook.Event
	got    chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	key, err := webhook.DecodeSecret(whsec)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{t: t, key: key, got: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || r.Header.Get("webhook-signature") != webhook.Sign(h.key, id, sec, body) {
		h.t.Errorf("delivery %s: bad signature or timestamp %q", id, ts)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != webhook.ContentType {
		h.t.Errorf("delivery %s: Content-Type %q", id, ct)
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id {
		h.t.Errorf("delivery %s: body %s (%v)", id, body, err)
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	h.got <- struct{}{}
}

// waitFor returns the events received once one about incident id arrived.
func (h *hookReceiver) waitFor(id string) []webhook.Event {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		evs := slices.Clone(h.events)
		h.mu.Unlock()
		if slices.ContainsFunc(evs, func(e webhook.Event) bool { return e.Subject == id }) {
			return evs
		}
		select {
		case <-h.got:
		case <-deadline:
			h.t.Fatalf("no delivery about %s within 10s; got %d events", id, len(evs))
		}
	}
}

// TestSeverityRouting runs the real delivery path: config routes → channels
// → dispatcher over a SQLite file → signed webhooks at real receivers.
// Each channel hears of exactly the incidents at least as severe as its
// lowest route, in order, each keyed by the installation; an unrouted
// channel is never built.
func TestSeverityRouting(t *testing.T) {
	dir := configDir(t)
	low, mid, high, unrouted := newHookReceiver(t), newHookReceiver(t), newHookReceiver(t), newHookReceiver(t)
	// unrouted is configured but no route names it: it must not be built.
	src := fmt.Sprintf(`services:
  - name: api
    proxy: {listen: 127.0.0.1:0}
    versions: [{name: v1, url: http://127.0.0.1:9001}]
notify:
  channels:
    - {name: low, webhook: {url: %q, secret_file: whsec}}
    - {name: mid, webhook: {url: %q, secret_file: whsec}}
    - {name: high, webhook: {url: %q, secret_file: whsec}}
    - {name: unrouted, webhook: {url: %q, secret_file: whsec}}
  routes:
    - {channel: low}
    - {channel: mid, min_severity: critical}
    - {channel: mid, min_severity: major}
    - {channel: high, min_severity: critical}
`, low.srv.URL+"/hook", mid.srv.URL+"/hook", high.srv.URL+"/hook", unrouted.srv.URL+"/hook")
	cfg, err := config.Parse([]byte(src), dir, Providers())
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "ripcord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	chans, err := channels(cfg.Notify, st)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range chans {
		names = append(names, c.Name+":"+string(c.MinSeverity))
	}
	if strings.Join(names, " ") != "low:minor mid:major high:critical" {
		t.Fatalf("channels = %v", names)
	}
	d := delivery.New(st, chans, delivery.Options{Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	wait, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer wait() // after cancel, before the store closes
	defer cancel()
	var ids []string
	for _, sev := range []incident.Severity{incident.Minor, incident.Major, incident.Critical} {
		id, err := st.CreateIncident(ctx, incident.Incident{Service: "api", Kind: incident.KindRollback, Severity: sev,
			Status: incident.Investigating, Title: string(sev) + " trouble", CreatedAt: time.Now(),
			Events: []incident.Event{{At: time.Now(), Type: incident.EvOpened, Actor: "ripcord", Message: "opened"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	d.Wake()
	inst, err := st.InstallationID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Workers deliver in event order, so once a channel has the critical
	// incident (the last event) it has decided on every earlier one.
	for _, tc := range []struct {
		name string
		h    *hookReceiver
		want []string
	}{
		{"low", low, ids},
		{"mid", mid, ids[1:]},
		{"high", high, ids[2:]},
	} {
		evs := tc.h.waitFor(ids[2])
		var subjects []string
		for _, e := range evs {
			subjects = append(subjects, e.Subject)
			if !strings.HasPrefix(e.ID, "ripcord-"+inst+"-"+e.Subject+"-") || e.Type != "dev.ripcord.incident.opened" {
				t.Errorf("%s: event id %q type %q, want ripcord-%s-%s-<seq>, opened", tc.name, e.ID, e.Type, inst, e.Subject)
			}
			var m struct {
				Severity     string `json:"severity"`
				Installation string `json:"installation"`
			}
			if err := json.Unmarshal(e.Data, &m); err != nil || m.Installation != inst {
				t.Errorf("%s: data %s: %v", tc.name, e.Data, err)
			}
		}
		if !slices.Equal(subjects, tc.want) {
			t.Errorf("%s heard of %v, want %v", tc.name, subjects, tc.want)
		}
	}
	// Each timeline records the first delivery to each channel that heard
	// of it (written just after the delivery, so polled for).
	for i, id := range ids {
		want := [][]string{{"low"}, {"low", "mid"}, {"high", "low", "mid"}}[i]
		var told []string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			inc, err := st.GetIncident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			told = told[:0]
			for _, ev := range inc.Events {
				if ev.Type == incident.EvNotified {
					told = append(told, fmt.Sprint(ev.Data["channel"]))
				}
			}
			slices.Sort(told)
			if slices.Equal(told, want) {
				break
			}
		}
		if !slices.Equal(told, want) {
			t.Errorf("%s timeline records deliveries to %v, want %v", id, told, want)
		}
	}
}
