package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

const testToken = "xoxb-1111-2222-SeCrEtToKeN"

// checkBlocks checks the Block Kit layout field by field.
func checkBlocks(t *testing.T, raw any, m notify.Message) {
	t.Helper()
	var blocks []map[string]any
	switch v := raw.(type) {
	case string: // form field: JSON text
		if err := json.Unmarshal([]byte(v), &blocks); err != nil {
			t.Fatalf("blocks is not a JSON array: %v\n%s", err, v)
		}
	default: // webhook body: already decoded
		b, _ := json.Marshal(v)
		_ = json.Unmarshal(b, &blocks)
	}
	if len(blocks) != 3 {
		t.Fatalf("got %d blocks, want header, section, context: %v", len(blocks), blocks)
	}
	h := blocks[0]
	ht, _ := h["text"].(map[string]any)
	if h["type"] != "header" || ht["type"] != "plain_text" || !strings.Contains(ht["text"].(string), m.Title) {
		t.Errorf("header block = %v, want plain_text containing %q", h, m.Title)
	}
	s := blocks[1]
	if s["type"] != "section" {
		t.Errorf("block 1 type = %v, want section", s["type"])
	}
	fields, _ := s["fields"].([]any)
	want := []string{
		"*Service*\n" + m.Service,
		"*Severity*\n" + string(m.Severity),
		"*Status*\n" + string(m.Status),
		"*Version*\n" + m.From + " → " + m.To,
		"*Reason*\n" + strings.ReplaceAll(m.Reason, ">", "&gt;"),
	}
	if len(fields) != len(want) {
		t.Fatalf("section has %d fields, want %d: %v", len(fields), len(want), fields)
	}
	for i, w := range want {
		f := fields[i].(map[string]any)
		if f["type"] != "mrkdwn" || f["text"] != w {
			t.Errorf("field %d = %v %q, want mrkdwn %q", i, f["type"], f["text"], w)
		}
	}
	c := blocks[2]
	els, _ := c["elements"].([]any)
	if c["type"] != "context" || len(els) != 1 {
		t.Fatalf("block 2 = %v, want a context with one element", c)
	}
	txt := els[0].(map[string]any)["text"].(string)
	if !strings.Contains(txt, m.IncidentID) || !strings.Contains(txt, "<"+m.ReportURL+"|report>") {
		t.Errorf("context = %q, want incident ID and report link", txt)
	}
}

func TestWebhookWireFormat(t *testing.T) {
	f := newFakeSlack(t)
	n := mustNew(t, Config{WebhookURL: notify.Secret(f.srv.URL + "/services/T000/B000/XXXX")})
	m := msg(notify.Opened, 1)
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), msg(notify.Updated, 2)); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 2 {
		t.Fatalf("got %d webhook posts, want one per update", len(calls))
	}
	c := calls[0]
	if ct := c.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	wantText := "[major] checkout error rate 9.1% after v2.4.0 — checkout: investigating (v2.4.0 → v2.3.9)"
	if c.JSON["text"] != wantText {
		t.Errorf("text = %q, want %q", c.JSON["text"], wantText)
	}
	checkBlocks(t, c.JSON["blocks"], m)
}

func TestBotOpenedPostsOnceAndStoresTS(t *testing.T) {
	f := newFakeSlack(t)
	st := &notify.MemState{}
	n := mustNew(t, Config{Token: testToken, Channel: "#deploys", APIURL: f.srv.URL}, WithState(st))
	m := msg(notify.Opened, 1)
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 1 || calls[0].Method != "chat.postMessage" {
		t.Fatalf("calls = %v, want one chat.postMessage", f.methods())
	}
	c := calls[0]
	if ct := c.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", ct)
	}
	// slack-go v0.35 sends the token in the form, not an Authorization header.
	if got := c.Form.Get("token"); got != testToken {
		t.Errorf("token = %q", got)
	}
	if c.Form.Get("channel") != "#deploys" {
		t.Errorf("channel = %q", c.Form.Get("channel"))
	}
	if c.Form.Get("text") != fallback(m) || c.Form.Get("text") == "" {
		t.Errorf("text = %q", c.Form.Get("text"))
	}
	if c.Form.Has("ts") || c.Form.Has("thread_ts") {
		t.Errorf("a new message must carry neither ts nor thread_ts: %v", c.Form)
	}
	checkBlocks(t, c.Form.Get("blocks"), m)

	v, _ := st.Get(context.Background(), "slack:#deploys", "inc-42")
	if v != `{"channel":"C0123CHAN","ts":"1700000000.000001","seq":1}` {
		t.Errorf("state = %s", v)
	}
}

func TestBotUpdateEditsAndRepliesInThread(t *testing.T) {
	f := newFakeSlack(t)
	st := &notify.MemState{}
	n := mustNew(t, Config{Token: testToken, Channel: "#deploys", APIURL: f.srv.URL}, WithState(st))
	ctx := context.Background()
	if err := n.Notify(ctx, msg(notify.Opened, 1)); err != nil {
		t.Fatal(err)
	}
	u := msg(notify.Updated, 2)
	u.Severity, u.Status = incident.Critical, incident.Identified
	u.Event = &incident.Event{Type: incident.EvRollbackStarted, Actor: "ripcord", Message: "rolling back to v2.3.9 <now>"}
	if err := n.Notify(ctx, u); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if got := f.methods(); strings.Join(got, ",") != "chat.postMessage,chat.update,chat.postMessage" {
		t.Fatalf("calls = %v, want post, update, thread reply", got)
	}
	up := calls[1].Form
	// chat.update needs the channel ID Slack answered with, not "#deploys".
	if up.Get("channel") != "C0123CHAN" || up.Get("ts") != "1700000000.000001" || up.Get("token") != testToken {
		t.Errorf("chat.update form = channel %q ts %q", up.Get("channel"), up.Get("ts"))
	}
	if up.Has("thread_ts") {
		t.Errorf("chat.update carries thread_ts")
	}
	checkBlocks(t, up.Get("blocks"), u)
	if !strings.HasPrefix(up.Get("text"), "[critical]") || !strings.Contains(up.Get("text"), "identified") {
		t.Errorf("chat.update text = %q", up.Get("text"))
	}
	re := calls[2].Form
	if re.Get("channel") != "C0123CHAN" || re.Get("thread_ts") != "1700000000.000001" {
		t.Errorf("reply channel %q thread_ts %q", re.Get("channel"), re.Get("thread_ts"))
	}
	if re.Has("ts") || re.Has("blocks") {
		t.Errorf("reply should be plain text in the thread: %v", re)
	}
	if want := "*rollback_started* by ripcord: rolling back to v2.3.9 &lt;now&gt;"; re.Get("text") != want {
		t.Errorf("reply text = %q, want %q", re.Get("text"), want)
	}
	v, _ := st.Get(ctx, "slack:#deploys", "inc-42")
	if !strings.Contains(v, `"seq":2`) {
		t.Errorf("state after update = %s", v)
	}
}

func TestBotRepeatedOpenedAfterCrashDoesNotPostAgain(t *testing.T) {
	ctx := context.Background()
	t.Run("ts stored, seq not yet", func(t *testing.T) {
		// The crash came after the ts was stored, before the update was
		// recorded as applied: the retry edits the same message.
		f := newFakeSlack(t)
		st := &notify.MemState{}
		_ = st.Put(ctx, "slack:#deploys", "inc-42", `{"channel":"C0123CHAN","ts":"1699999999.000777"}`)
		n := mustNew(t, Config{Token: testToken, Channel: "#deploys", APIURL: f.srv.URL}, WithState(st))
		if err := n.Notify(ctx, msg(notify.Opened, 1)); err != nil {
			t.Fatal(err)
		}
		calls := f.Calls()
		if len(calls) != 1 || calls[0].Method != "chat.update" || calls[0].Form.Get("ts") != "1699999999.000777" {
			t.Fatalf("calls = %v, want only chat.update of the stored ts", f.methods())
		}
	})
	t.Run("fully applied", func(t *testing.T) {
		f := newFakeSlack(t)
		st := &notify.MemState{}
		n := mustNew(t, Config{Token: testToken, Channel: "#deploys", APIURL: f.srv.URL}, WithState(st))
		for range 2 {
			if err := n.Notify(ctx, msg(notify.Opened, 1)); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.methods(); len(got) != 1 || got[0] != "chat.postMessage" {
			t.Fatalf("calls = %v, want exactly one chat.postMessage", got)
		}
	})
}

func TestBotDropsStaleUpdate(t *testing.T) {
	ctx := context.Background()
	f := newFakeSlack(t)
	st := &notify.MemState{}
	n := mustNew(t, Config{Token: testToken, Channel: "C0123CHAN", APIURL: f.srv.URL}, WithState(st))
	for _, seq := range []int64{1, 3} {
		if err := n.Notify(ctx, msg(notify.Updated, seq)); err != nil {
			t.Fatal(err)
		}
	}
	before := len(f.Calls())
	if err := n.Notify(ctx, msg(notify.Updated, 2)); err != nil {
		t.Fatal(err)
	}
	if after := len(f.Calls()); after != before {
		t.Errorf("update seq 2 after seq 3 made %d calls, want none", after-before)
	}
}

func TestBotRepostsWhenMessageWasDeleted(t *testing.T) {
	ctx := context.Background()
	f := newFakeSlack(t)
	f.respond = func(w http.ResponseWriter, c call) bool {
		if c.Method == "chat.update" {
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return true
		}
		return false
	}
	st := &notify.MemState{}
	_ = st.Put(ctx, "slack:C0123CHAN", "inc-42", `{"channel":"C0123CHAN","ts":"1.1","seq":1}`)
	n := mustNew(t, Config{Token: testToken, Channel: "C0123CHAN", APIURL: f.srv.URL}, WithState(st))
	if err := n.Notify(ctx, msg(notify.Updated, 2)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.methods(), ","); got != "chat.update,chat.postMessage,chat.postMessage" {
		t.Fatalf("calls = %s, want update, new post, thread reply", got)
	}
	if v, _ := st.Get(ctx, "slack:C0123CHAN", "inc-42"); !strings.Contains(v, `"ts":"1700000000.000002"`) {
		t.Errorf("state = %s, want the new ts", v)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]Config{
		"nothing":          {},
		"both":             {WebhookURL: "https://hooks.slack.com/services/x", Token: testToken, Channel: "C1"},
		"token no channel": {Token: testToken},
		"relative webhook": {WebhookURL: "hooks.slack.com/services/x"},
		"bad api url":      {Token: testToken, Channel: "C1", APIURL: "ftp://x"},
		"negative timeout": {WebhookURL: "https://hooks.slack.com/x", Timeout: -1},
	} {
		if _, err := New(cfg, WithState(&notify.MemState{})); err == nil {
			t.Errorf("%s: New accepted %v", name, cfg)
		}
	}
	if _, err := New(Config{Token: testToken, Channel: "C1"}); err == nil {
		t.Error("bot mode without State accepted")
	}
	n := mustNew(t, Config{WebhookURL: "https://hooks.slack.com/x"})
	if n.client.Timeout != DefaultTimeout {
		t.Errorf("default timeout = %s", n.client.Timeout)
	}
}
