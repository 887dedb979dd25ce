package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

// TestDedupKeys: the key of an incident is stable across updates (so a
// pager groups them), differs across installations and incidents, and
// keeps the bare form for incidents from before installation ids.
func TestDedupKeys(t *testing.T) {
	for _, tc := range []struct {
		m             notify.Message
		scoped, dedup string
	}{
		{notify.Message{IncidentID: "INC-0001"}, "INC-0001", "ripcord-INC-0001"},
		{notify.Message{IncidentID: "INC-0001", Installation: "3fa2c1d9e0b4"}, "3fa2c1d9e0b4-INC-0001", "ripcord-3fa2c1d9e0b4-INC-0001"},
		{notify.Message{IncidentID: "INC-12345", Installation: "77aa01bc9d3e"}, "77aa01bc9d3e-INC-12345", "ripcord-77aa01bc9d3e-INC-12345"},
	} {
		if got := tc.m.ScopedID(); got != tc.scoped {
			t.Errorf("ScopedID(%+v) = %q, want %q", tc.m, got, tc.scoped)
		}
		if got := tc.m.DedupKey(); got != tc.dedup {
			t.Errorf("DedupKey(%+v) = %q, want %q", tc.m, got, tc.dedup)
		}
	}
	base := notify.Message{IncidentID: "INC-0001", Installation: "3fa2c1d9e0b4", Update: notify.Opened,
		Severity: incident.Major, Status: incident.Investigating, Seq: 1}
	later := base
	later.Update, later.Severity, later.Status, later.Seq, later.Title = notify.Resolved, incident.Critical, incident.Resolved, 9, "x"
	if later.DedupKey() != base.DedupKey() {
		t.Errorf("the key changed with the update: %q then %q", base.DedupKey(), later.DedupKey())
	}
	keys := map[string]bool{}
	for _, inst := range []string{"", "3fa2c1d9e0b4", "77aa01bc9d3e"} {
		for _, id := range []string{"INC-0001", "INC-0002"} {
			k := notify.Message{IncidentID: id, Installation: inst}.DedupKey()
			if keys[k] {
				t.Errorf("key %q shared by two incidents", k)
			}
			keys[k] = true
		}
	}
}

// TestUpdateIDDigest: without a Seq, the id is a digest of exactly what
// the outbox replays unchanged — the same update gives the same id, any
// change to its content a different one — and the full incident, At and
// version fields (not part of the digest) do not move it.
func TestUpdateIDDigest(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	base := notify.Message{IncidentID: "INC-1", Update: notify.Updated, Status: incident.Identified,
		Severity: incident.Major, Reason: "error_rate 50%",
		Event: &incident.Event{At: at, Type: incident.EvStatus, Actor: "ann", Message: "investigating → identified"}}
	id := base.UpdateID()
	if len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("UpdateID = %q, want 12 hex digits", id)
	}
	changes := map[string]func(*notify.Message){
		"update":        func(m *notify.Message) { m.Update = notify.Resolved },
		"status":        func(m *notify.Message) { m.Status = incident.Monitoring },
		"severity":      func(m *notify.Message) { m.Severity = incident.Critical },
		"reason":        func(m *notify.Message) { m.Reason = "error_rate 51%" },
		"event at":      func(m *notify.Message) { e := *m.Event; e.At = at.Add(time.Nanosecond); m.Event = &e },
		"event type":    func(m *notify.Message) { e := *m.Event; e.Type = incident.EvNote; m.Event = &e },
		"event actor":   func(m *notify.Message) { e := *m.Event; e.Actor = "bob"; m.Event = &e },
		"event message": func(m *notify.Message) { e := *m.Event; e.Message = "other"; m.Event = &e },
		"no event":      func(m *notify.Message) { m.Event = nil },
	}
	for name, change := range changes {
		m := base
		change(&m)
		if m.UpdateID() == id {
			t.Errorf("changing the %s kept UpdateID %s", name, id)
		}
	}
	same := base
	same.Event = &incident.Event{At: at.In(time.FixedZone("X", 3600)), Type: incident.EvStatus, Actor: "ann", Message: "investigating → identified"}
	same.At, same.From, same.To, same.Incident = at.Add(time.Hour), "v2", "v1", &incident.Incident{ID: "INC-1"}
	if same.UpdateID() != id {
		t.Errorf("fields outside the digest (or the zone of At) moved UpdateID: %s, want %s", same.UpdateID(), id)
	}
	withSeq := base
	withSeq.Seq = 42
	if withSeq.UpdateID() != "42" {
		t.Errorf("UpdateID with Seq = %q", withSeq.UpdateID())
	}
}

// TestMessageJSON: the wire shape webhooks receive; the full incident is
// for channels that render more, not for the wire.
func TestMessageJSON(t *testing.T) {
	m := notify.Message{Update: notify.Opened, IncidentID: "INC-0001", Service: "api", Kind: incident.KindRollback,
		Severity: incident.Critical, Status: incident.Investigating, Title: "t", Reason: "r", From: "v2", To: "v1",
		At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Incident: &incident.Incident{Title: "internal"},
		Installation: "3fa2c1d9e0b4", Seq: 3}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	for k, want := range map[string]any{"update": "opened", "incident_id": "INC-0001", "severity": "critical",
		"from_version": "v2", "to_version": "v1", "installation": "3fa2c1d9e0b4", "seq": 3.0} {
		if raw[k] != want {
			t.Errorf("%s = %v, want %v (%s)", k, raw[k], want, b)
		}
	}
	for _, k := range []string{"Incident", "incident", "event", "report_url"} {
		if _, ok := raw[k]; ok {
			t.Errorf("JSON has %q: %s", k, b)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
	}{
		{"https://example.atlassian.net", ""},
		{"http://127.0.0.1:9093/", ""},
		{"https://api.github.com/api/v3", ""},
		{"ftp://example.com", "must be an absolute http or https URL"},
		{"example.atlassian.net", "must be an absolute http or https URL"},
		{"/rest/api", "must be an absolute http or https URL"},
		{"https://", "must be an absolute http or https URL"},
		{"http://[::1", "must be an absolute http or https URL"},
		{"https://bot:tok-SECRET@example.atlassian.net", "must not contain credentials; use api_token_file"},
		{"https://bot@example.atlassian.net", "must not contain credentials; use api_token_file"},
	} {
		var errs field.Errors
		notify.CheckBaseURL(&errs, "jira.base_url", tc.raw, "api_token_file")
		switch {
		case tc.want == "" && len(errs) != 0:
			t.Errorf("CheckBaseURL(%q) = %v, want no problem", tc.raw, errs)
		case tc.want != "" && (len(errs) != 1 || errs[0].Path != "jira.base_url" || errs[0].Msg != tc.want):
			t.Errorf("CheckBaseURL(%q) = %v, want one problem at jira.base_url: %s", tc.raw, errs, tc.want)
		}
		if strings.Contains(errs.Error(), "tok-SECRET") || (tc.raw != "" && tc.want != "" && strings.Contains(errs.Error(), tc.raw)) {
			t.Errorf("CheckBaseURL quotes the URL: %v", errs)
		}
	}
}

// TestSecretNeverPrints: every way a Config reaches a log or an error
// shows <redacted>.
func TestSecretNeverPrints(t *testing.T) {
	s := notify.Secret("xoxb-SECRET-123")
	var b strings.Builder
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("cfg", "token", s)
	js, _ := json.Marshal(struct{ T notify.Secret }{s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), b.String(), string(js)} {
		if strings.Contains(out, "SECRET") || strings.Contains(out, "786f78") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if s.Reveal() != "xoxb-SECRET-123" {
		t.Error("Reveal lost the value")
	}
}

// TestMemStateConcurrent: MemState backs channels in tests that run
// deliveries in parallel, so it must hold up under concurrent use.
func TestMemStateConcurrent(t *testing.T) {
	ctx := context.Background()
	var st notify.MemState
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				_ = st.Put(ctx, fmt.Sprintf("ch%d", i%4), fmt.Sprintf("INC-%d", j), fmt.Sprint(i))
				_, _ = st.Get(ctx, "ch0", "INC-1")
			}
		})
	}
	wg.Wait()
	for c := range 4 {
		for j := range 50 {
			v, _ := st.Get(ctx, fmt.Sprintf("ch%d", c), fmt.Sprintf("INC-%d", j))
			if v == "" {
				t.Fatalf("ch%d/INC-%d lost", c, j)
			}
		}
	}
	if v, _ := st.Get(ctx, "nope", "INC-1"); v != "" {
		t.Errorf("unknown handle = %q", v)
	}
}
