package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

const bearer = "am-BeArEr-SeCrEt"

var (
	now     = time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	created = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// fakeAM keeps the raw JSON of every POST /api/v2/alerts.
type fakeAM struct {
	srv    *httptest.Server
	mu     sync.Mutex
	posts  [][]map[string]any
	header http.Header
}

func newFakeAM(t *testing.T) *fakeAM {
	f := &fakeAM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
			t.Errorf("request %s %s, want POST /api/v2/alerts", r.Method, r.URL.Path)
		}
		body, _ := io.ReadAll(r.Body)
		var alerts []map[string]any
		if err := json.Unmarshal(body, &alerts); err != nil {
			t.Errorf("body is not a JSON array: %v: %s", err, body)
		}
		f.mu.Lock()
		f.posts = append(f.posts, alerts)
		f.header = r.Header.Clone()
		f.mu.Unlock()
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAM) Posts() [][]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

func msg(u notify.Update, sev incident.Severity) notify.Message {
	st := incident.Investigating
	if u == notify.Resolved {
		st = incident.Resolved
	}
	return notify.Message{
		Update: u, IncidentID: "inc-42", Service: "checkout", Kind: incident.KindRollback,
		Severity: sev, Status: st, Title: "checkout error rate 9.1%", Reason: "error_rate 9.1% > 2% for 3m",
		ReportURL: "https://ripcord.example/incidents/inc-42", At: now.Add(-time.Minute),
		Incident: &incident.Incident{ID: "inc-42", CreatedAt: created},
	}
}

func newN(t *testing.T, cfg Config, opts ...Option) *Notifier {
	t.Helper()
	n, err := New(cfg, append([]Option{WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantLabels(sev string) map[string]any {
	return map[string]any{"alertname": "RipcordIncident", "service": "checkout", "severity": sev, "incident_id": "inc-42"}
}

func checkAlert(t *testing.T, a map[string]any, sev string, endsAt time.Time) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(a))
	if got := strings.Join(keys, ","); got != "annotations,endsAt,generatorURL,labels,startsAt" {
		t.Errorf("alert fields = %s", got)
	}
	if fmt.Sprint(a["labels"]) != fmt.Sprint(wantLabels(sev)) {
		t.Errorf("labels = %v, want %v", a["labels"], wantLabels(sev))
	}
	ann := map[string]any{"summary": "checkout error rate 9.1%", "description": "error_rate 9.1% > 2% for 3m"}
	if fmt.Sprint(a["annotations"]) != fmt.Sprint(ann) {
		t.Errorf("annotations = %v", a["annotations"])
	}
	if a["startsAt"] != "2025-03-01T12:00:00Z" {
		t.Errorf("startsAt = %v, want the incident's creation", a["startsAt"])
	}
	if a["endsAt"] != endsAt.Format(time.RFC3339) {
		t.Errorf("endsAt = %v, want %s", a["endsAt"], endsAt.Format(time.RFC3339))
	}
	if a["generatorURL"] != "https://ripcord.example/incidents/inc-42" {
		t.Errorf("generatorURL = %v", a["generatorURL"])
	}
}

func TestTriggerThenResolveWireFormat(t *testing.T) {
	f := newFakeAM(t)
	n := newN(t, Config{URL: f.srv.URL + "/", BearerToken: bearer, AlertTTL: time.Hour})
	ctx := context.Background()
	if err := n.Notify(ctx, msg(notify.Opened, incident.Major)); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, msg(notify.Resolved, incident.Major)); err != nil {
		t.Fatal(err)
	}
	p := f.Posts()
	if len(p) != 2 || len(p[0]) != 1 || len(p[1]) != 1 {
		t.Fatalf("posts = %v, want two arrays of one alert", p)
	}
	checkAlert(t, p[0][0], "major", now.Add(time.Hour))
	checkAlert(t, p[1][0], "major", now.Add(-time.Minute)) // endsAt = resolve time
	if ct := f.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if got := f.header.Get("Authorization"); got != "Bearer "+bearer {
		t.Errorf("Authorization = %q", got)
	}
}

func TestSeverityChangeResolvesOldAlert(t *testing.T) {
	f := newFakeAM(t)
	st := &notify.MemState{}
	n := newN(t, Config{URL: f.srv.URL}, WithState(st))
	ctx := context.Background()
	for _, m := range []notify.Message{
		msg(notify.Opened, incident.Major),
		msg(notify.Updated, incident.Critical),
		msg(notify.Resolved, incident.Critical),
	} {
		if err := n.Notify(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	p := f.Posts()
	if len(p[0]) != 1 || len(p[1]) != 2 || len(p[2]) != 1 {
		t.Fatalf("alerts per post = %d %d %d, want 1 2 1", len(p[0]), len(p[1]), len(p[2]))
	}
	checkAlert(t, p[1][0], "critical", now.Add(DefaultAlertTTL))
	checkAlert(t, p[1][1], "major", now.Add(-time.Minute))
	checkAlert(t, p[2][0], "critical", now.Add(-time.Minute))
}

func TestEndsAtNeverInTheFutureOnResolve(t *testing.T) {
	f := newFakeAM(t)
	m := msg(notify.Resolved, incident.Minor)
	m.At = now.Add(time.Hour) // the sender's clock runs ahead
	if err := newN(t, Config{URL: f.srv.URL}).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := f.Posts()[0][0]["endsAt"]; got != now.Format(time.RFC3339) {
		t.Errorf("endsAt = %v, want now", got)
	}
}

func TestRetryClassification(t *testing.T) {
	notifytest.RetryClassification(t, "alertmanager POST /api/v2/alerts", func(t *testing.T, base string) error {
		return newN(t, Config{URL: base, BearerToken: bearer}).Notify(context.Background(), msg(notify.Opened, incident.Major))
	}, bearer)
}

func TestSecretsNeverInErrors(t *testing.T) {
	const pw = "UrLpAsSwOrD"
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if s := fmt.Sprintf("%v %+v", err, err); strings.Contains(s, bearer) || strings.Contains(s, pw) {
			t.Errorf("%s: error leaks a secret: %s", what, s)
		}
		if ok, _ := notify.IsRetryable(err); what != "New" && !ok {
			t.Errorf("%s: network error not retryable: %v", what, err)
		}
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := "http://am:" + pw + "@" + strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	ctx := context.Background()
	check("connection refused", newN(t, Config{URL: dead, BearerToken: bearer}).Notify(ctx, msg(notify.Opened, incident.Major)))
	check("timeout", newN(t, Config{URL: "http://am:" + pw + "@192.0.2.1", BearerToken: bearer, Timeout: time.Millisecond}).
		Notify(ctx, msg(notify.Opened, incident.Major)))
	_, err := New(Config{URL: "ftp://am:" + pw + "@host", BearerToken: bearer})
	check("New", err)

	cfg := Config{URL: "http://am:" + pw + "@host:9093", BearerToken: bearer}
	notifytest.CheckNotPrinted(t, []string{bearer}, cfg, newN(t, cfg))
	// The URL's password is for String and LogValue to hide (json.Marshal
	// of a Config shows its url).
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("am", "config", cfg)
	if s := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, logs.String()); strings.Contains(s, bearer) || strings.Contains(s, pw) {
		t.Errorf("printed config leaks a secret: %s", s)
	}
}
