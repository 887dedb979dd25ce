package github

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

func newNotifier(t *testing.T, f *fakeGitHub, state notify.State) *Notifier {
	t.Helper()
	n, err := New(Config{BaseURL: f.srv.URL + "/api/v3/", Token: testToken, Owner: "acme", Repo: "shop"}, state)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func msg(u notify.Update, st incident.Status, seq int64, event string) notify.Message {
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	m := notify.Message{
		Update: u, IncidentID: "INC-0001", Service: "checkout", Kind: incident.KindRollback,
		Severity: incident.Major, Status: st, Title: "checkout v2.4.0 rolled back",
		Reason: "error rate 7.2% > 2% for 3m", From: "v2.4.0", To: "v2.3.9",
		ReportURL: "https://ripcord.example/incidents/INC-0001", At: at, Seq: seq,
	}
	if event != "" {
		m.Event = &incident.Event{At: at, Type: incident.EvStatus, Actor: "ripcord", Message: event}
	}
	return m
}

func TestLifecycleWireFormat(t *testing.T) {
	f := newFake(t)
	state := &notify.MemState{}
	n := newNotifier(t, f, state)
	ctx := context.Background()
	opened := msg(notify.Opened, incident.Investigating, 1, "")
	opened.Incident = &incident.Incident{Events: []incident.Event{{At: opened.At, Type: incident.EvDetected, Actor: "ripcord", Message: "error rate 7.2%"}}}
	for _, m := range []notify.Message{opened, msg(notify.Updated, incident.Identified, 2, "Rolled back."), msg(notify.Resolved, incident.Resolved, 3, "")} {
		if err := n.Notify(ctx, m); err != nil {
			t.Fatalf("%s: %v", m.Update, err)
		}
	}
	var paths []string
	for _, c := range f.calls() {
		paths = append(paths, strings.SplitN(c, "?", 2)[0])
	}
	want := []string{
		"GET /api/v3/repos/acme/shop/issues", "POST /api/v3/repos/acme/shop/issues",
		"GET /api/v3/repos/acme/shop/issues/1/comments", "POST /api/v3/repos/acme/shop/issues/1/comments",
		"GET /api/v3/repos/acme/shop/issues/1/comments", "POST /api/v3/repos/acme/shop/issues/1/comments",
		"PATCH /api/v3/repos/acme/shop/issues/1",
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	if q := f.calls()[0]; !strings.Contains(q, "labels=ripcord-INC-0001") || !strings.Contains(q, "state=all") {
		t.Errorf("lookup %s", q)
	}
	if q := f.calls()[2]; !strings.Contains(q, "since=") {
		t.Errorf("comment list without since: %s", q)
	}
	is := f.issues[0]
	if is.Title != "[ripcord] checkout v2.4.0 rolled back" || !slices.Equal(is.Labels, []string{"ripcord", "incident", "ripcord-INC-0001"}) {
		t.Errorf("issue %q %v", is.Title, is.Labels)
	}
	for _, s := range []string{"error rate 7.2% > 2% for 3m", "- **Service:** checkout", "- **Severity:** major",
		"- **Status:** investigating", "- **Versions:** `v2.4.0` → `v2.3.9`", "### Timeline", "**detected** (ripcord): error rate 7.2%"} {
		if !strings.Contains(is.Body, s) {
			t.Errorf("body lacks %q:\n%s", s, is.Body)
		}
	}
	if c := is.Comments[0].Body; !strings.Contains(c, "**Status: identified**") || !strings.Contains(c, "Rolled back.") || !strings.HasSuffix(c, "<!-- ripcord:INC-0001 update 2 -->\n") {
		t.Errorf("comment 1:\n%s", c)
	}
	if c := is.Comments[1].Body; !strings.Contains(c, "**Resolved**") || !strings.Contains(c, "<!-- ripcord:INC-0001 update 3 -->") {
		t.Errorf("comment 2:\n%s", c)
	}
	var patch map[string]string
	json.Unmarshal(f.bodies[len(f.bodies)-1], &patch)
	if patch["state"] != "closed" || patch["state_reason"] != "completed" || len(patch) != 2 {
		t.Errorf("close body %v", patch)
	}
	if v, _ := state.Get(ctx, "github:acme/shop", "INC-0001"); v != `{"number":1,"seq":3}` {
		t.Errorf("state %q", v)
	}
}

// With state lost, Opened finds the existing issue (even closed, and not a
// pull request carrying the label) and a lost comment is not reposted.
func TestDedupWithLostState(t *testing.T) {
	f := newFake(t)
	f.issues = []*fakeIssue{
		{Number: 1, State: "open", Labels: []string{"ripcord-INC-0001"}, PR: true},
		{Number: 2, State: "closed", Labels: []string{"ripcord", "ripcord-INC-0001"}},
	}
	ctx := context.Background()
	state := &notify.MemState{}
	if err := newNotifier(t, f, state).Notify(ctx, msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	if f.count("POST") != 0 {
		t.Fatalf("created: %v", f.calls())
	}
	if v, _ := state.Get(ctx, "github:acme/shop", "INC-0001"); v != `{"number":2,"seq":1}` {
		t.Errorf("state %q", v)
	}
	f.loseNext = "POST /api/v3/repos/acme/shop/issues/2/comments"
	upd := msg(notify.Updated, incident.Identified, 2, "Rolled back.")
	if ok, _ := notify.IsRetryable(newNotifier(t, f, state).Notify(ctx, upd)); !ok {
		t.Fatal("lost comment response should be retryable")
	}
	for _, st := range []notify.State{state, &notify.MemState{}} {
		if err := newNotifier(t, f, st).Notify(ctx, upd); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.issues) != 2 || len(f.issues[1].Comments) != 1 {
		t.Fatalf("issues %d comments %d", len(f.issues), len(f.issues[1].Comments))
	}
	before := len(f.calls())
	if err := newNotifier(t, f, state).Notify(ctx, upd); err != nil || len(f.calls()) != before {
		t.Errorf("applied seq: err %v, %d requests", err, len(f.calls())-before)
	}
}

// send builds a Notifier for an API root at base and sends one Opened
// message.
func send(t *testing.T, base string) error {
	n, err := New(Config{BaseURL: base + "/api/v3/", Token: testToken, Owner: "acme", Repo: "shop"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
}

// State that is not JSON is ignored: the issue is looked up again by its
// label and the state rewritten.
func TestUnreadableStateIsLookedUpAgain(t *testing.T) {
	f := newFake(t)
	f.issues = []*fakeIssue{{Number: 1, State: "open", Labels: []string{"ripcord", "ripcord-INC-0001"}}}
	ctx := context.Background()
	state := &notify.MemState{}
	_ = state.Put(ctx, "github:acme/shop", "INC-0001", "not json")
	if err := newNotifier(t, f, state).Notify(ctx, msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	if f.count("GET /api/v3/repos/acme/shop/issues") != 1 || f.count("POST") != 0 {
		t.Errorf("calls %v, want one lookup and no create", f.calls())
	}
	if v, _ := state.Get(ctx, "github:acme/shop", "INC-0001"); v != `{"number":1,"seq":1}` {
		t.Errorf("state %q", v)
	}
}

func TestRetryClassification(t *testing.T) {
	notifytest.RetryClassification(t, "github list issues", send, testToken)
}

// GitHub answers a rate limit with 403 too: a secondary limit carries
// Retry-After, the primary one X-Ratelimit-Reset.
func TestRateLimitsAreRetryable(t *testing.T) {
	reset := time.Now().Add(90 * time.Second).Unix()
	cases := []struct {
		name     string
		c        canned
		minAfter time.Duration
	}{
		{"403 secondary", canned{status: 403, header: http.Header{"Retry-After": {"20"}}, body: `{"message":"secondary","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}, 20 * time.Second},
		{"403 primary", canned{status: 403, header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Reset": {itoa(reset)}}, body: `{"message":"API rate limit exceeded"}`}, 80 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			f.fail = []canned{c.c}
			err := newNotifier(t, f, nil).Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
			ok, after := notify.IsRetryable(err)
			if err == nil || !ok || after < c.minAfter || after > c.minAfter+15*time.Second {
				t.Errorf("retryable %v after %s (err %v), want true ≥%s", ok, after, err, c.minAfter)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "github list issues") {
				t.Errorf("error %q does not name the call", err)
			}
		})
	}
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestUserTextCannotForgeMarker(t *testing.T) {
	m := msg(notify.Updated, incident.Identified, 5, "<!-- ripcord:INC-0001 update 6 -->")
	body := commentBody(m)
	if strings.Count(body, "<!--") != 1 || !strings.Contains(body, "&lt;!-- ripcord:INC-0001 update 6 -->") {
		t.Errorf("body:\n%s", body)
	}
	z1, z2 := msg(notify.Updated, incident.Identified, 0, "a"), msg(notify.Updated, incident.Identified, 0, "b")
	if marker(z1) == marker(z2) {
		t.Error("zero-seq updates share a marker")
	}
}
