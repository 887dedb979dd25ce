package jira

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

func newNotifier(t *testing.T, f *fakeJira, state notify.State, transition string) *Notifier {
	t.Helper()
	n, err := New(Config{BaseURL: f.srv.URL + "/", Email: testEmail, APIToken: testToken, Project: "OPS", ResolveTransition: transition}, state)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func msg(u notify.Update, st incident.Status, seq int64, event string) notify.Message {
	m := notify.Message{
		Update: u, IncidentID: "INC-0001", Service: "checkout", Kind: incident.KindRollback,
		Severity: incident.Critical, Status: st, Title: "checkout v2.4.0 rolled back",
		Reason: "error rate 7.2% > 2% for 3m", From: "v2.4.0", To: "v2.3.9",
		ReportURL: "https://ripcord.example/incidents/INC-0001", At: t0, Seq: seq,
	}
	if event != "" {
		m.Event = &incident.Event{At: t0.Add(time.Duration(seq) * time.Minute), Type: incident.EvStatus, Actor: "ripcord", Message: event}
	}
	return m
}

// texts flattens the text nodes of an ADF document.
func texts(raw json.RawMessage) string {
	var n node
	json.Unmarshal(raw, &n)
	var b strings.Builder
	var walk func(node)
	walk = func(n node) {
		if n.Type == "text" {
			b.WriteString(n.Text)
		}
		if n.Type == "hardBreak" || n.Type == "paragraph" || n.Type == "heading" {
			b.WriteString("\n")
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func TestLifecycleWireFormat(t *testing.T) {
	f := newFake(t)
	state := &notify.MemState{}
	n := newNotifier(t, f, state, "done")
	ctx := context.Background()
	opened := msg(notify.Opened, incident.Investigating, 1, "")
	opened.Incident = &incident.Incident{Events: []incident.Event{
		{At: t0, Type: incident.EvDetected, Actor: "ripcord", Message: "error rate 7.2%"},
		{At: t0.Add(time.Minute), Type: incident.EvRollbackStarted, Actor: "ripcord", Message: "to v2.3.9"},
	}}
	for _, m := range []notify.Message{opened, msg(notify.Updated, incident.Identified, 2, "Rolled back."), msg(notify.Resolved, incident.Resolved, 3, "")} {
		if err := n.Notify(ctx, m); err != nil {
			t.Fatalf("%s: %v", m.Update, err)
		}
	}
	want := []string{
		"POST /rest/api/3/search/jql", "POST /rest/api/3/issue",
		"GET /rest/api/3/issue/OPS-1/comment", "POST /rest/api/3/issue/OPS-1/comment",
		"GET /rest/api/3/issue/OPS-1/comment", "POST /rest/api/3/issue/OPS-1/comment",
		"GET /rest/api/3/issue/OPS-1/transitions", "POST /rest/api/3/issue/OPS-1/transitions",
	}
	if got := f.calls(); !slices.Equal(got, want) {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	iss := f.issues[0]
	if iss.Project != "OPS" || iss.Type != "Bug" || iss.Summary != "[ripcord] checkout v2.4.0 rolled back" {
		t.Errorf("issue = %+v", iss)
	}
	if !slices.Equal(iss.Labels, []string{"ripcord", "ripcord-INC-0001"}) {
		t.Errorf("labels = %v", iss.Labels)
	}
	desc := texts(iss.Description)
	for _, s := range []string{"checkout v2.4.0 rolled back", "error rate 7.2% > 2% for 3m", "Service: checkout",
		"Severity: critical", "Status: investigating", "Versions: v2.4.0 → v2.3.9", "Report: https://ripcord.example/incidents/INC-0001",
		"Timeline", "2026-11-25T12:00:00Z detected (ripcord): error rate 7.2%", "2026-11-25T12:01:00Z rollback_started (ripcord): to v2.3.9"} {
		if !strings.Contains(desc, s) {
			t.Errorf("description lacks %q:\n%s", s, desc)
		}
	}
	var d node
	json.Unmarshal(iss.Description, &d)
	if d.Content[0].Type != "heading" || d.Content[0].Attrs["level"] != float64(2) {
		t.Errorf("description starts with %+v", d.Content[0])
	}
	c1, c2 := texts(iss.Comments[0]), texts(iss.Comments[1])
	for _, s := range []string{"Status: identified", "Rolled back.", "ripcord INC-0001 update 2"} {
		if !strings.Contains(c1, s) {
			t.Errorf("comment 1 lacks %q:\n%s", s, c1)
		}
	}
	for _, s := range []string{"Resolved", "The incident is resolved.", "ripcord INC-0001 update 3"} {
		if !strings.Contains(c2, s) {
			t.Errorf("comment 2 lacks %q:\n%s", s, c2)
		}
	}
	if iss.Status != "Done" {
		t.Errorf("status = %s, want Done", iss.Status)
	}
	if v, _ := state.Get(ctx, "jira:OPS", "INC-0001"); v != `{"key":"OPS-1","seq":3}` {
		t.Errorf("state = %q", v)
	}
}

func TestSearchFindsExistingIssueBeforeCreating(t *testing.T) {
	f := newFake(t)
	f.issues = []*fakeIssue{
		{Key: "OPS-7", Project: "OPS", Status: "Done", Labels: []string{"ripcord", "ripcord-INC-0002"}},
		{Key: "OPS-8", Project: "OPS", Status: "Done", Labels: []string{"ripcord", "ripcord-INC-0001"}},
	}
	state := &notify.MemState{}
	n := newNotifier(t, f, state, "")
	if err := n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	if f.count("POST /rest/api/3/issue") != 0 || len(f.issues) != 2 {
		t.Fatalf("created an issue: %v", f.calls())
	}
	if v, _ := state.Get(context.Background(), "jira:OPS", "INC-0001"); v != `{"key":"OPS-8","seq":1}` {
		t.Errorf("state = %q", v)
	}
}

// Older versions stored the bare issue key: it is used as it is, without a
// search, and rewritten as JSON.
func TestBareKeyInState(t *testing.T) {
	f := newFake(t)
	f.issues = []*fakeIssue{{Key: "OPS-1", Project: "OPS", Status: "To Do", Labels: []string{"ripcord", "ripcord-INC-0001"}}}
	ctx := context.Background()
	state := &notify.MemState{}
	_ = state.Put(ctx, "jira:OPS", "INC-0001", "OPS-1")
	if err := newNotifier(t, f, state, "").Notify(ctx, msg(notify.Updated, incident.Identified, 2, "Rolled back.")); err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /rest/api/3/issue/OPS-1/comment", "POST /rest/api/3/issue/OPS-1/comment"}
	if got := f.calls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if v, _ := state.Get(ctx, "jira:OPS", "INC-0001"); v != `{"key":"OPS-1","seq":2}` {
		t.Errorf("state = %q", v)
	}
}

// A comment that landed but whose response was lost is not posted again,
// neither by the retry nor by a Notifier that lost its state.
func TestLostCommentResponseIsNotDuplicated(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	n := newNotifier(t, f, &notify.MemState{}, "")
	if err := n.Notify(ctx, msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	f.loseNext = "POST /rest/api/3/issue/OPS-1/comment"
	upd := msg(notify.Updated, incident.Identified, 2, "Rolled back.")
	if ok, _ := notify.IsRetryable(n.Notify(ctx, upd)); !ok {
		t.Fatal("lost response should be retryable")
	}
	for _, nn := range []*Notifier{n, newNotifier(t, f, &notify.MemState{}, "")} {
		if err := nn.Notify(ctx, upd); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(f.issues[0].Comments); got != 1 || len(f.issues) != 1 {
		t.Fatalf("comments = %d issues = %d, want 1 and 1", got, len(f.issues))
	}
	// Applied seqs are dropped without a request.
	before := len(f.calls())
	if err := n.Notify(ctx, upd); err != nil || len(f.calls()) != before {
		t.Errorf("repeat: err %v, %d requests", err, len(f.calls())-before)
	}
}

func TestResolveTransition(t *testing.T) {
	ctx := context.Background()
	t.Run("not offered", func(t *testing.T) {
		f := newFake(t)
		n := newNotifier(t, f, nil, "Archive")
		err := n.Notify(ctx, msg(notify.Resolved, incident.Resolved, 1, ""))
		if ok, _ := notify.IsRetryable(err); err == nil || ok {
			t.Fatalf("err = %v, want permanent", err)
		}
		for _, s := range []string{`"Archive"`, "OPS-1", `"To Do"`, "Start progress, Close issue"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q lacks %s", err, s)
			}
		}
	})
	t.Run("already done", func(t *testing.T) {
		f := newFake(t)
		f.issues = []*fakeIssue{{Key: "OPS-1", Project: "OPS", Status: "Done", Labels: []string{"ripcord-INC-0001"}}}
		if err := newNotifier(t, f, nil, "close issue").Notify(ctx, msg(notify.Resolved, incident.Resolved, 1, "")); err != nil {
			t.Fatal(err)
		}
		if f.count("POST /rest/api/3/issue/OPS-1/transitions") != 0 {
			t.Error("transitioned a done issue")
		}
	})
	t.Run("by target status name", func(t *testing.T) {
		f := newFake(t)
		if err := newNotifier(t, f, nil, "DONE").Notify(ctx, msg(notify.Resolved, incident.Resolved, 1, "")); err != nil {
			t.Fatal(err)
		}
		if f.issues[0].Status != "Done" {
			t.Errorf("status %s", f.issues[0].Status)
		}
	})
}

// send builds a Notifier for a site at base and sends one Opened message.
func send(t *testing.T, base string) error {
	n, err := New(Config{BaseURL: base, Email: testEmail, APIToken: testToken, Project: "OPS"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
}

func TestRetryClassification(t *testing.T) {
	notifytest.RetryClassification(t, "jira search issues", send, testToken, encodedCreds)
}

func TestJQLQuoting(t *testing.T) {
	if got := jqlString(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("jqlString = %s", got)
	}
	if got := label("INC 7\tx"); got != "ripcord-INC_7_x" {
		t.Errorf("label = %s", got)
	}
}

func TestZeroSeqUpdatesGetDistinctMarkers(t *testing.T) {
	a := msg(notify.Updated, incident.Identified, 0, "one")
	b := msg(notify.Updated, incident.Monitoring, 0, "two")
	if marker(a) == marker(b) || marker(a) != marker(msg(notify.Updated, incident.Identified, 0, "one")) {
		t.Errorf("markers %q %q", marker(a), marker(b))
	}
}
