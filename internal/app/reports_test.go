package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// TestReporterWritesOnPhaseEnds: the report channel writes INC-N.md and
// .html from what the store holds when a rollback is verified or a service
// escalates, records that on the timeline, and ignores every other event.
func TestReporterWritesOnPhaseEnds(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ripcord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	if _, err := st.RecordDeployment(ctx, store.Deployment{Service: "svc", Version: "v2",
		URL: "http://deploy:hunter2@10.0.0.2:9002/?key=abc123", Actor: "alice", At: t0}); err != nil {
		t.Fatal(err)
	}
	verified := incident.Event{At: t0.Add(10 * time.Second), Type: incident.EvVerified, Actor: "ripcord", Message: "v1 healthy"}
	id, err := st.CreateIncident(ctx, incident.Incident{Service: "svc", Kind: incident.KindRollback, Severity: incident.Major,
		Status: incident.Monitoring, Title: "svc: rollback v2 → v1", Reason: "error_rate 50%", FromVersion: "v2", ToVersion: "v1",
		ImpactStartedAt: t0, CreatedAt: t0, UpdatedAt: t0, Events: []incident.Event{
			{At: t0, Type: incident.EvOpened, Actor: "ripcord", Message: "opened"},
			{At: t0.Add(time.Second), Type: incident.EvRollbackDone, Actor: "ripcord", Message: "on v1",
				Data: map[string]any{"from": "v2", "to": "v1"}},
			verified,
		}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{BaseDir: dir, Services: []config.Service{{Name: "svc", Policy: config.DefaultPolicy()}}}
	ch := newReporter(cfg, st)
	if ch.Name != "report" || !ch.Quiet || ch.MinSeverity != incident.Minor {
		t.Errorf("report channel = %+v", ch)
	}
	md, html := filepath.Join(dir, "reports", id+".md"), filepath.Join(dir, "reports", id+".html")

	for _, typ := range []string{incident.EvOpened, incident.EvNote, incident.EvRollbackDone, incident.EvStatus} {
		ev := incident.Event{At: t0, Type: typ}
		if err := ch.Notifier.Notify(ctx, notify.Message{IncidentID: id, Service: "svc", Event: &ev}); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if _, err := os.Stat(md); !os.IsNotExist(err) {
			t.Fatalf("a %s event wrote the report (%v)", typ, err)
		}
	}
	if err := ch.Notifier.Notify(ctx, notify.Message{IncidentID: id, Service: "svc"}); err != nil {
		t.Fatalf("message without an event: %v", err)
	}

	if err := ch.Notifier.Notify(ctx, notify.Message{IncidentID: id, Service: "svc", Event: &verified}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{md, html} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		body := string(b)
		if !strings.Contains(body, id) || !strings.Contains(body, "svc: rollback v2") {
			t.Errorf("%s lacks the incident:\n%.400s", path, body)
		}
		if strings.Contains(body, "hunter2") || strings.Contains(body, "abc123") {
			t.Errorf("%s shows the version URL's credentials", path)
		}
		if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
			t.Errorf("%s.tmp left behind", path)
		}
	}
	inc, err := st.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	last := inc.Events[len(inc.Events)-1]
	if last.Type != incident.EvReport || last.Data["markdown"] != md || last.Data["html"] != html ||
		!strings.Contains(last.Message, "ripcord report "+id) {
		t.Errorf("timeline ends with %+v, want the report event naming both files", last)
	}

	// An escalation rewrites the report in place.
	esc := incident.Event{At: t0.Add(time.Minute), Type: incident.EvEscalated, Actor: "ripcord", Message: "chain exhausted"}
	if err := st.AppendEvent(ctx, id, esc); err != nil {
		t.Fatal(err)
	}
	if err := ch.Notifier.Notify(ctx, notify.Message{IncidentID: id, Service: "svc", Event: &esc}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(md); !strings.Contains(string(b), "chain exhausted") {
		t.Error("the escalation's report does not show the escalation")
	}

	// The store not knowing the incident is worth a retry, not a drop.
	err = ch.Notifier.Notify(ctx, notify.Message{IncidentID: "INC-9999", Service: "svc", Event: &verified})
	if retry, _ := notify.IsRetryable(err); err == nil || !retry {
		t.Errorf("unknown incident: %v (retryable %v)", err, retry)
	}
}

// TestStoreStateBacksChannelHandles: channel handles go to the store, so
// they outlive the process.
func TestStoreStateBacksChannelHandles(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ripcord.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	state := storeState{st}
	if err := state.Put(ctx, "slack", "INC-0001", `{"ts":"1.2"}`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, err := (storeState{st}).Get(ctx, "slack", "INC-0001"); err != nil || v != `{"ts":"1.2"}` {
		t.Errorf("handle after reopening = %q, %v", v, err)
	}
}
