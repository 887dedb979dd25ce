package statuspage

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

type noWait struct{}

func (noWait) Wait(context.Context) error { return nil }

func newNotifier(t *testing.T, f *fakeStatuspage, state notify.State) *Notifier {
	t.Helper()
	n, err := New(Config{BaseURL: f.srv.URL + "/v1/", APIKey: testKey, PageID: testPage, ComponentID: testComp}, state, WithLimiter(noWait{}))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func msg(u notify.Update, st incident.Status, seq int64, event string) notify.Message {
	m := notify.Message{
		Update: u, IncidentID: "INC-0001", Service: "checkout", Kind: incident.KindRollback,
		Severity: incident.Major, Status: st, Title: "checkout v2.4.0 rolled back",
		Reason: "error rate 7.2% > 2% for 3m", From: "v2.4.0", To: "v2.3.9",
		At: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Seq: seq,
	}
	if event != "" {
		m.Event = &incident.Event{At: m.At, Type: incident.EvStatus, Actor: "ripcord", Message: event}
	}
	return m
}

func TestLifecycleWireFormat(t *testing.T) {
	f := newFake(t)
	state := &notify.MemState{}
	n := newNotifier(t, f, state)
	ctx := context.Background()
	steps := []notify.Message{
		msg(notify.Opened, incident.Investigating, 1, ""),
		msg(notify.Updated, incident.Identified, 2, "Rolled back to v2.3.9."),
		msg(notify.Updated, incident.Monitoring, 3, "Error rate back under 1%."),
		msg(notify.Resolved, incident.Resolved, 4, ""),
	}
	for _, m := range steps {
		if err := n.Notify(ctx, m); err != nil {
			t.Fatalf("%s: %v", m.Update, err)
		}
	}
	incs, reqs := f.snapshot()
	if len(incs) != 1 {
		t.Fatalf("incidents = %d, want 1", len(incs))
	}
	create := reqs[2] // unresolved list, search, create
	if create.Method != http.MethodPost || create.Path != "/v1/pages/pg1/incidents" {
		t.Fatalf("third request = %s %s, want the create", create.Method, create.Path)
	}
	if q := reqs[0].Query; !strings.Contains(q, "per_page=100") {
		t.Errorf("unresolved list query = %q", q)
	}
	if q := reqs[1].Query; !strings.Contains(q, "q=INC-0001") {
		t.Errorf("search query = %q", q)
	}
	checkCreate(t, create.Body.Incident)
	var patches []incidentFields
	for _, r := range reqs {
		if r.Method == http.MethodPatch {
			if r.Path != "/v1/pages/pg1/incidents/sp1" {
				t.Errorf("patch path %s", r.Path)
			}
			patches = append(patches, r.Body.Incident)
		}
	}
	want := []struct{ status, body, comp string }{
		{"identified", "Rolled back to v2.3.9.", "partial_outage"},
		{"monitoring", "Error rate back under 1%.", "partial_outage"},
		{"resolved", "This incident has been resolved.", "operational"},
	}
	if len(patches) != len(want) {
		t.Fatalf("patches = %d, want %d", len(patches), len(want))
	}
	for i, w := range want {
		p := patches[i]
		if p.Status != w.status || p.Body != w.body || p.Components[testComp] != w.comp || p.ComponentIDs[0] != testComp {
			t.Errorf("patch %d = %+v, want %+v", i, p, w)
		}
	}
	if incs[0].Status != "resolved" || incs[0].Components[testComp] != "operational" {
		t.Errorf("final incident %+v", incs[0])
	}
	v, _ := state.Get(ctx, "statuspage:pg1", "INC-0001")
	if v != `{"id":"sp1","seq":4}` {
		t.Errorf("state = %q", v)
	}
}

// checkCreate checks every field of the create request.
func checkCreate(t *testing.T, c incidentFields) {
	t.Helper()
	if c.Name != "checkout v2.4.0 rolled back" || c.Status != "investigating" {
		t.Errorf("create name/status = %q/%q", c.Name, c.Status)
	}
	for _, want := range []string{"error rate 7.2% > 2% for 3m", "Rolled back from v2.4.0 to v2.3.9.", "[ripcord INC-0001]"} {
		if !strings.Contains(c.Body, want) {
			t.Errorf("create body %q lacks %q", c.Body, want)
		}
	}
	if len(c.ComponentIDs) != 1 || c.ComponentIDs[0] != testComp || c.Components[testComp] != "partial_outage" {
		t.Errorf("create components = %v %v", c.ComponentIDs, c.Components)
	}
	md, _ := json.Marshal(c.Metadata)
	if string(md) != `{"ripcord":{"incident_id":"INC-0001"}}` {
		t.Errorf("metadata = %s", md)
	}
}

func TestSeverityToComponentStatus(t *testing.T) {
	for sev, want := range map[incident.Severity]string{
		incident.Minor: "degraded_performance", incident.Major: "partial_outage", incident.Critical: "major_outage",
	} {
		m := msg(notify.Opened, incident.Investigating, 1, "")
		m.Severity = sev
		if got := componentStatus(m); got != want {
			t.Errorf("%s → %s, want %s", sev, got, want)
		}
	}
	if got := componentStatus(msg(notify.Resolved, incident.Resolved, 2, "")); got != "operational" {
		t.Errorf("resolved → %s", got)
	}
}

func TestNoComponentConfigured(t *testing.T) {
	f := newFake(t)
	n, err := New(Config{BaseURL: f.srv.URL + "/v1", APIKey: testKey, PageID: testPage}, nil, WithLimiter(noWait{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	_, reqs := f.snapshot()
	if b := reqs[len(reqs)-1].Body.Incident; b.Components != nil || b.ComponentIDs != nil {
		t.Errorf("components sent without component_id: %+v", b)
	}
}

// The create lands upstream but its response is lost, and State never got
// the id: the retry must find the incident instead of creating another.
func TestRetryAfterLostCreateFindsIncident(t *testing.T) {
	for _, omit := range []bool{false, true} {
		f := newFake(t)
		f.omitMetadata = omit // the marker in the body must do
		f.loseCreate = true
		n := newNotifier(t, f, &notify.MemState{})
		ctx := context.Background()
		err := n.Notify(ctx, msg(notify.Opened, incident.Investigating, 1, ""))
		if ok, _ := notify.IsRetryable(err); !ok {
			t.Fatalf("lost create: err = %v, want retryable", err)
		}
		// A fresh Notifier with empty state, as after a restart.
		n2 := newNotifier(t, f, &notify.MemState{})
		if err := n2.Notify(ctx, msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
			t.Fatal(err)
		}
		if err := n2.Notify(ctx, msg(notify.Updated, incident.Identified, 2, "found it")); err != nil {
			t.Fatal(err)
		}
		incs, _ := f.snapshot()
		if len(incs) != 1 || f.count(http.MethodPost, "/incidents") != 1 {
			t.Fatalf("omitMetadata=%v: incidents = %d, creates = %d, want 1", omit, len(incs), f.count(http.MethodPost, "/incidents"))
		}
		if incs[0].Status != "identified" {
			t.Errorf("status = %s", incs[0].Status)
		}
	}
}

// A late repeat of a message for an incident already resolved upstream,
// with State lost, finds it through the search and changes nothing.
func TestLateRepeatAfterResolveWithLostState(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	n := newNotifier(t, f, &notify.MemState{})
	for _, m := range []notify.Message{msg(notify.Opened, incident.Investigating, 1, ""), msg(notify.Resolved, incident.Resolved, 2, "")} {
		if err := n.Notify(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	n2 := newNotifier(t, f, &notify.MemState{})
	for _, m := range []notify.Message{msg(notify.Opened, incident.Investigating, 1, ""), msg(notify.Updated, incident.Monitoring, 2, "late"), msg(notify.Resolved, incident.Resolved, 3, "")} {
		if err := n2.Notify(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	incs, _ := f.snapshot()
	if len(incs) != 1 || len(incs[0].Updates) != 2 || incs[0].Status != "resolved" {
		t.Fatalf("incidents = %d, updates = %+v", len(incs), incs[0].Updates)
	}
}

// Older versions stored the bare incident id: it is used as it is, without
// a lookup, and rewritten as JSON.
func TestBareIDInState(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	if err := newNotifier(t, f, &notify.MemState{}).Notify(ctx, msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	state := &notify.MemState{}
	_ = state.Put(ctx, "statuspage:pg1", "INC-0001", "sp1")
	_, before := f.snapshot()
	if err := newNotifier(t, f, state).Notify(ctx, msg(notify.Updated, incident.Identified, 2, "found")); err != nil {
		t.Fatal(err)
	}
	_, after := f.snapshot()
	var calls []string
	for _, r := range after[len(before):] {
		calls = append(calls, r.Method+" "+r.Path)
	}
	if got := strings.Join(calls, ", "); got != "GET /v1/pages/pg1/incidents/sp1, PATCH /v1/pages/pg1/incidents/sp1" {
		t.Errorf("calls %s", got)
	}
	if v, _ := state.Get(ctx, "statuspage:pg1", "INC-0001"); v != `{"id":"sp1","seq":2}` {
		t.Errorf("state = %q", v)
	}
}

func TestRepeatedUpdateIsNotRepublished(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	n := newNotifier(t, f, &notify.MemState{})
	upd := msg(notify.Updated, incident.Identified, 2, "Rolled back.")
	for _, m := range []notify.Message{msg(notify.Opened, incident.Investigating, 1, ""), upd, upd} {
		if err := n.Notify(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// Same again through a Notifier that lost the seq but kept nothing.
	if err := newNotifier(t, f, &notify.MemState{}).Notify(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got := f.count(http.MethodPatch, "/sp1"); got != 1 {
		t.Fatalf("patches = %d, want 1", got)
	}
	// An older message than the last applied one is dropped without a call.
	before := len(func() []fakeRequest { _, r := f.snapshot(); return r }())
	if err := n.Notify(ctx, msg(notify.Updated, incident.Investigating, 1, "stale")); err != nil {
		t.Fatal(err)
	}
	if _, r := f.snapshot(); len(r) != before {
		t.Errorf("stale message made %d requests", len(r)-before)
	}
}

// send builds a Notifier for an API at base and sends one Opened message.
func send(t *testing.T, base string) error {
	n, err := New(Config{BaseURL: base + "/v1", APIKey: testKey, PageID: testPage, ComponentID: testComp}, nil, WithLimiter(noWait{}))
	if err != nil {
		t.Fatal(err)
	}
	return n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, ""))
}

func TestRetryClassification(t *testing.T) {
	notifytest.RetryClassification(t, "statuspage list unresolved incidents", send, testKey)
	// 420 is Statuspage's other rate-limit answer.
	err := send(t, notifytest.EchoServer(t, 420, http.Header{"Retry-After": {"3"}}).URL)
	if ok, after := notify.IsRetryable(err); !ok || after != 3*time.Second {
		t.Errorf("HTTP 420: IsRetryable = %v, %s; want true, 3s (err %v)", ok, after, err)
	}
	if err == nil || !strings.Contains(err.Error(), "statuspage list unresolved incidents: HTTP 420") {
		t.Errorf("error %v does not name the call and status", err)
	}
}

func TestMessageWithoutIncidentIDIsPermanent(t *testing.T) {
	n := newNotifier(t, newFake(t), nil)
	err := n.Notify(context.Background(), notify.Message{Update: notify.Opened})
	if ok, _ := notify.IsRetryable(err); err == nil || ok {
		t.Fatalf("err = %v, want permanent", err)
	}
}
