package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify/delivery"
	"github.com/ripcord/ripcord/internal/notify/webhook"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a webhook endpoint that fails the first `fail` requests with
// status `code`, then accepts, recording accepted webhook ids.
type receiver struct {
	mu       sync.Mutex
	fail     int
	code     int
	hits     atomic.Int64
	accepted []string
	types    []string
	srv      *httptest.Server
}

func newReceiver(t *testing.T, fail, code int) *receiver {
	r := &receiver{fail: fail, code: code}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(r.code)
			return
		}
		var ev struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &ev)
		r.accepted = append(r.accepted, req.Header.Get("webhook-id"))
		r.types = append(r.types, ev.Type)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.accepted...), append([]string(nil), r.types...)
}

func setup(t *testing.T, url string, min incident.Severity) (store.Store, *delivery.Dispatcher) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	n, err := webhook.New(webhook.Config{URL: url, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	d := delivery.New(st, []delivery.Channel{{Name: "hooks", Notifier: n, MinSeverity: min}},
		delivery.Options{Poll: 20 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); wait() })
	return st, d
}

func open(t *testing.T, st store.Store, sev incident.Severity) string {
	t.Helper()
	now := time.Now()
	id, err := st.CreateIncident(context.Background(), incident.Incident{Service: "svc", Kind: incident.KindRollback, Severity: sev,
		Status: incident.Investigating, Title: "svc: rollback v2 → v1", CreatedAt: now, UpdatedAt: now,
		Events: []incident.Event{{At: now, Type: incident.EvOpened, Actor: "ripcord", Message: "opened"}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drained waits until the channel's cursor has reached the end of the event
// log: every event so far, its own timeline records included, has been
// handled, so anything it was going to send has been sent. This is the
// event a negative assertion waits for, instead of a sleep.
func drained(t *testing.T, st store.Store, channel string) {
	t.Helper()
	waitUntil(t, channel+" to handle every event", func() bool {
		last, err := st.LastEventSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		cur, _, err := st.Cursor(context.Background(), "notify:"+channel) // the dispatcher's cursor name
		if err != nil {
			t.Fatal(err)
		}
		return cur == last
	})
}

func events(t *testing.T, st store.Store, id, typ string) []incident.Event {
	inc, err := st.GetIncident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []incident.Event
	for _, e := range inc.Events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestRetriesUntilAcceptedExactlyOnce(t *testing.T) {
	r := newReceiver(t, 3, http.StatusInternalServerError)
	st, d := setup(t, r.srv.URL, incident.Minor)
	id := open(t, st, incident.Major)
	d.Wake()
	waitUntil(t, "delivery", func() bool { ids, _ := r.got(); return len(ids) == 1 })
	drained(t, st, "hooks") // nothing else may arrive
	ids, types := r.got()
	if len(ids) != 1 || r.hits.Load() != 4 || types[0] != "dev.ripcord.incident.opened" {
		t.Fatalf("accepted %v (%v) after %d hits; want one opened after 4", ids, types, r.hits.Load())
	}
	if len(events(t, st, id, incident.EvNotified)) != 1 {
		t.Fatalf("no 'notified' line on the timeline")
	}
	if fails := events(t, st, id, incident.EvNotifyFailed); len(fails) != 1 || !strings.Contains(fails[0].Message, "still retrying") {
		t.Fatalf("persistent failure not on the timeline: %+v", fails)
	}
}

func TestGoneIsPermanentNoRetryStorm(t *testing.T) {
	r := newReceiver(t, 1000, http.StatusGone)
	st, d := setup(t, r.srv.URL, incident.Minor)
	id := open(t, st, incident.Major)
	d.Wake()
	waitUntil(t, "refusal on the timeline", func() bool { return len(events(t, st, id, incident.EvNotifyFailed)) == 1 })
	drained(t, st, "hooks")
	if h := r.hits.Load(); h != 1 {
		t.Fatalf("410 was retried: %d requests", h)
	}
	if msg := events(t, st, id, incident.EvNotifyFailed)[0].Message; !strings.Contains(msg, "410") || strings.Contains(msg, secret) {
		t.Fatalf("refusal message %q", msg)
	}
}

func TestRoutesBySeverity(t *testing.T) {
	r := newReceiver(t, 0, 0)
	st, d := setup(t, r.srv.URL, incident.Critical)
	open(t, st, incident.Minor)
	crit := open(t, st, incident.Critical)
	d.Wake()
	waitUntil(t, "critical delivered", func() bool { ids, _ := r.got(); return len(ids) == 1 })
	drained(t, st, "hooks") // the minor one was looked at and skipped
	ids, _ := r.got()
	if len(ids) != 1 || !strings.Contains(ids[0], crit) {
		t.Fatalf("delivered %v; want only %s", ids, crit)
	}
}

// TestResumesFromCursorAfterRestart: events written while the dispatcher was
// down are delivered when it starts again, once.
func TestResumesFromCursorAfterRestart(t *testing.T) {
	r := newReceiver(t, 0, 0)
	dir := t.TempDir()
	path := filepath.Join(dir, "d.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := webhook.New(webhook.Config{URL: r.srv.URL, Secret: secret})
	chans := []delivery.Channel{{Name: "hooks", Notifier: n, MinSeverity: incident.Minor}}
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := delivery.New(st, chans, delivery.Options{Poll: 20 * time.Millisecond}).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	wait()
	id := open(t, st, incident.Major) // written while nobody delivers
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	if _, err := delivery.New(st, chans, delivery.Options{Poll: 20 * time.Millisecond}).Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "delivery after restart", func() bool { ids, _ := r.got(); return len(ids) == 1 })
	if ids, _ := r.got(); !strings.Contains(ids[0], id) {
		t.Fatalf("delivered %v", ids)
	}
	cancel()
	_ = st.Close()
}

// TestResolveIsAnnounced: a status change to resolved reaches channels as a
// "resolved" update (PagerDuty resolves, Alertmanager ends the alert on it).
func TestResolveIsAnnounced(t *testing.T) {
	r := newReceiver(t, 0, 0)
	st, d := setup(t, r.srv.URL, incident.Minor)
	id := open(t, st, incident.Major)
	resolve := func(inc *incident.Incident) error { inc.Status = incident.Resolved; return nil }
	if err := st.UpdateIncident(context.Background(), id, resolve, incident.Event{At: time.Now(), Type: incident.EvStatus, Actor: "ann",
		Message: "status investigating → resolved", Data: map[string]any{"from": "investigating", "to": "resolved"}}); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitUntil(t, "both updates", func() bool { ids, _ := r.got(); return len(ids) == 2 })
	if _, types := r.got(); types[0] != "dev.ripcord.incident.opened" || types[1] != "dev.ripcord.incident.resolved" {
		t.Fatalf("types %v", types)
	}
}

// TestEventIDsNameTheInstallation: two installations (or one on a fresh
// database) both have an INC-0001; their events must not share an id, or a
// receiver deduplicating by webhook-id drops the second.
func TestEventIDsNameTheInstallation(t *testing.T) {
	r := newReceiver(t, 0, 0)
	var insts []string
	for range 2 {
		st, d := setup(t, r.srv.URL, incident.Minor)
		if id := open(t, st, incident.Major); id != "INC-0001" {
			t.Fatalf("first incident is %s", id)
		}
		inst, err := st.InstallationID(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, inst)
		d.Wake()
		drained(t, st, "hooks")
	}
	ids, _ := r.got()
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("webhook ids %v: two installations' INC-0001 must differ", ids)
	}
	for i, id := range ids {
		if want := "ripcord-" + insts[i] + "-INC-0001-"; !strings.HasPrefix(id, want) {
			t.Errorf("webhook-id %q, want prefix %q", id, want)
		}
	}
}
