package apiclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert/proxyswitch"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/push"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

const (
	viewer   = "client-test-viewer-token"
	operator = "client-test-operator-token"
)

// daemon is a real API over a real controller, switch and SQLite store,
// for one service "svc" on v1 with v0 behind it.
type daemon struct {
	url   string
	store store.Store
	push  *push.Store
	svc   *controller.Service
	// v2 is a third backend's URL, for deploys.
	v2 string
}

func newDaemon(t *testing.T) *daemon {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	backend := func(name string) string {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
		t.Cleanup(b.Close)
		return b.URL
	}
	sw := proxy.New(proxy.Options{Service: "svc"})
	t.Cleanup(func() { _ = sw.Close() })
	cfg := config.Service{Name: "svc", Active: "v1", Policy: config.DefaultPolicy(),
		Versions: []config.Version{{Name: "v0", URL: backend("v0")}, {Name: "v1", URL: backend("v1") + "/?api_key=k3y"}}}
	d := &daemon{store: st, push: push.New(time.Minute), v2: backend("v2")}
	d.svc = controller.New(cfg, controller.Deps{Store: st, Target: proxyswitch.New(sw), Router: sw})
	if err := d.svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Services: []*controller.Service{d.svc}, Store: st, Push: d.push,
		Tokens: []config.Token{{Name: "dash", Role: config.RoleViewer, Value: viewer}, {Name: "sre", Role: config.RoleOperator, Value: operator}}}).Handler())
	t.Cleanup(srv.Close)
	d.url = srv.URL
	return d
}

func apiError(t *testing.T, err error) *apiclient.Error {
	t.Helper()
	var e *apiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an API error", err, err)
	}
	return e
}

// TestClientDrivesTheWholeAPI uses every method against a real daemon, in
// the order an operator would, and checks each answer against the store.
func TestClientDrivesTheWholeAPI(t *testing.T) {
	d := newDaemon(t)
	c := apiclient.New(d.url+"/", operator) // a trailing slash is fine
	ctx := t.Context()

	list, err := c.Services(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "svc" || list[0].Active != "v1" {
		t.Fatalf("Services: %+v %v", list, err)
	}
	if strings.Contains(list[0].Versions[1].URL, "k3y") {
		t.Fatalf("Services shows a query secret: %s", list[0].Versions[1].URL)
	}
	st, err := c.Deploy(ctx, "svc", "v2", d.v2)
	if err != nil || st.Active != "v2" || st.State != controller.StateWatching {
		t.Fatalf("Deploy: %+v %v", st, err)
	}
	if st, err = c.Pause(ctx, "svc"); err != nil || !st.Paused {
		t.Fatalf("Pause: %+v %v", st, err)
	}
	if st, err = c.Resume(ctx, "svc"); err != nil || st.Paused {
		t.Fatalf("Resume: %+v %v", st, err)
	}
	if err := c.PushSignals(ctx, "svc", api.SignalsRequest{Version: "v2", Samples: 5, Values: map[string]float64{signal.QualityScore: 0.7}}); err != nil {
		t.Fatalf("PushSignals: %v", err)
	}
	if !d.push.Expected("svc", signal.QualityScore) {
		t.Fatal("the pushed score did not arrive")
	}
	rb, err := c.Rollback(ctx, "svc", "v1", "quality fell")
	if err != nil || rb.IncidentID == "" || rb.Service.Active != "v1" {
		t.Fatalf("Rollback: %+v %v", rb, err)
	}
	if st, err = c.Service(ctx, "svc"); err != nil || st.Active != "v1" || !st.Versions[2].KnownBad {
		t.Fatalf("Service after the rollback: %+v %v", st, err)
	}
	ds, err := c.Decisions(ctx, "svc")
	if err != nil {
		t.Fatalf("Decisions: %v", err)
	}
	stored, _ := d.store.ListDecisions(ctx, "svc", 50)
	if len(ds) != len(stored) {
		t.Fatalf("Decisions: %d, the store has %d", len(ds), len(stored))
	}
	incs, err := c.Incidents(ctx, "svc", true)
	if err != nil || len(incs) != 1 || incs[0].ID != rb.IncidentID {
		t.Fatalf("Incidents: %+v %v", incs, err)
	}
	inc, err := c.Note(ctx, rb.IncidentID, "checking the eval set")
	if err != nil || inc.Events[len(inc.Events)-1].Message != "checking the eval set" {
		t.Fatalf("Note: %+v %v", inc, err)
	}
	if inc, err = c.SetStatus(ctx, rb.IncidentID, "monitoring", "holding"); err != nil || inc.Status != incident.Monitoring {
		t.Fatalf("SetStatus: %+v %v", inc, err)
	}
	if inc, err = c.Resolve(ctx, rb.IncidentID, "fixed"); err != nil || inc.Status != incident.Resolved {
		t.Fatalf("Resolve: %+v %v", inc, err)
	}
	got, err := c.Incident(ctx, rb.IncidentID)
	if err != nil || got.Status != incident.Resolved || len(got.Events) != len(inc.Events) {
		t.Fatalf("Incident: %+v %v", got, err)
	}
	if incs, err = c.Incidents(ctx, "svc", true); err != nil || len(incs) != 0 {
		t.Fatalf("open incidents after resolving: %+v %v", incs, err)
	}
	md, err := c.Report(ctx, rb.IncidentID, "md")
	if err != nil || !strings.HasPrefix(string(md), "# "+rb.IncidentID) {
		t.Fatalf("Report md: %.100q %v", md, err)
	}
	html, err := c.Report(ctx, rb.IncidentID, "html")
	if err != nil || !strings.Contains(strings.ToLower(string(html[:min(len(html), 200)])), "<!doctype html>") {
		t.Fatalf("Report html: %.100q %v", html, err)
	}
}

// TestClientErrorsCarryStatusCodeAndMessage: an API error decodes into
// Error with the server's status, code and message, for each class a CLI
// acts on.
func TestClientErrorsCarryStatusCodeAndMessage(t *testing.T) {
	d := newDaemon(t)
	op, view, none := apiclient.New(d.url, operator), apiclient.New(d.url, viewer), apiclient.New(d.url, "")
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
		msg    string
	}{
		{"no token", func() error { _, err := none.Services(ctx); return err }, 401, "unauthorized", "missing or unknown bearer token"},
		{"viewer acts", func() error { _, err := view.Pause(ctx, "svc"); return err }, 403, "forbidden", "token dash has role viewer; this needs operator or higher"},
		{"unknown service", func() error { _, err := op.Service(ctx, "nope"); return err }, 404, "not_found", `no service "nope" (known: svc)`},
		{"unknown incident", func() error { _, err := op.Incident(ctx, "INC-77"); return err }, 404, "not_found", `no incident "INC-77"`},
		{"bad version", func() error { _, err := op.Deploy(ctx, "svc", "", ""); return err }, 400, "bad_request", "version: is required"},
		{"new version without url", func() error { _, err := op.Deploy(ctx, "svc", "v9", ""); return err }, 409, "conflict", "give its --url"},
		{"rollback to itself", func() error { _, err := op.Rollback(ctx, "svc", "v1", ""); return err }, 409, "conflict", "svc is already on v1"},
		{"push nothing", func() error { return op.PushSignals(ctx, "svc", api.SignalsRequest{Version: "v1"}) }, 400, "bad_request", "values: required"},
		{"bad status", func() error { _, err := op.SetStatus(ctx, "INC-1", "done", ""); return err }, 400, "bad_request", "status: "},
		{"bad format", func() error { _, err := op.Report(ctx, "INC-1", "pdf"); return err }, 400, "bad_request", "format: use md or html"},
	} {
		err := tc.call()
		e := apiError(t, err)
		if e.Status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %+v, want %d %s %q", tc.name, e, tc.status, tc.code, tc.msg)
		}
		if want := e.Message + " (HTTP " + strconv.Itoa(tc.status) + ")"; err.Error() != want {
			t.Errorf("%s: Error() %q, want %q", tc.name, err.Error(), want)
		}
		if strings.Contains(err.Error(), operator) || strings.Contains(err.Error(), viewer) {
			t.Errorf("%s: the error quotes a token: %v", tc.name, err)
		}
	}
}

// seen is what a recording server saw of each request.
type seen struct {
	method, path, rawQuery, auth, ctype, body string
}

// recorder answers every request with status and body, and records it.
func recorder(t *testing.T, status int, ctype, body string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

// TestClientRequestsOnTheWire: the exact requests each method sends — path
// escaping, the query, a JSON content type only with a body, and the
// bearer token only when one is set.
func TestClientRequestsOnTheWire(t *testing.T) {
	srv, requests := recorder(t, 200, "application/json", "{}")
	ctx := t.Context()
	c, anon := apiclient.New(srv.URL, "tok-1"), apiclient.New(srv.URL, "")
	_, _ = c.Service(ctx, "a/b c")
	_, _ = c.Deploy(ctx, "svc", "v2", "http://x:1")
	_, _ = c.Pause(ctx, "svc")
	_, _ = c.Incidents(ctx, "x&open=true", false)
	_, _ = c.Incidents(ctx, "", true)
	_, _ = c.Incidents(ctx, "", false)
	_, _ = c.Note(ctx, "INC-1/../x", "hi")
	_, _ = c.Report(ctx, "INC-2", "html&x=1")
	_, _ = anon.Services(ctx)
	_, _ = c.ServicePage(ctx, apiclient.ServiceFilter{Q: "a b", Verdicts: []string{"degraded", "suspect"}, States: []string{"watching"}, Limit: 10, After: "x&y"})
	want := []seen{
		{"GET", "/api/v1/services/a%2Fb%20c", "", "Bearer tok-1", "", ""},
		{"POST", "/api/v1/services/svc/deploy", "", "Bearer tok-1", "application/json", `{"version":"v2","url":"http://x:1"}`},
		{"POST", "/api/v1/services/svc/pause", "", "Bearer tok-1", "application/json", `{}`},
		{"GET", "/api/v1/incidents", "service=x%26open%3Dtrue", "Bearer tok-1", "", ""},
		{"GET", "/api/v1/incidents", "open=true", "Bearer tok-1", "", ""},
		{"GET", "/api/v1/incidents", "", "Bearer tok-1", "", ""},
		{"POST", "/api/v1/incidents/INC-1%2F..%2Fx/notes", "", "Bearer tok-1", "application/json", `{"text":"hi"}`},
		{"GET", "/api/v1/incidents/INC-2/report", "format=html%26x%3D1", "Bearer tok-1", "", ""},
		{"GET", "/api/v1/services", "limit=1000", "", "", ""}, // every service, the largest pages
		{"GET", "/api/v1/services", "after=x%26y&limit=10&q=a+b&state=watching&verdict=degraded%2Csuspect", "Bearer tok-1", "", ""},
	}
	got := requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestClientDecodesForeignErrors: an error that is not the API's JSON —
// from a proxy in front of ripcord, or an empty body — still comes back as
// an Error with its status and the body's text.
func TestClientDecodesForeignErrors(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		code, msg         string
	}{
		{"plain text", "text/plain", "upstream connect error\n", 502, "", "upstream connect error"},
		{"html page", "text/html", "<html><body>503 Service Unavailable</body></html>", 503, "", "<html><body>503 Service Unavailable</body></html>"},
		{"json of another shape", "application/json", `{"message":"rate limited"}`, 429, "", `{"message":"rate limited"}`},
		{"empty body", "", "", 500, "", ""},
		{"api error", "application/json", `{"error":"nope","code":"conflict"}`, 409, "conflict", "nope"},
	} {
		srv, _ := recorder(t, tc.status, tc.ctype, tc.body)
		_, err := apiclient.New(srv.URL, "t").Services(t.Context())
		e := apiError(t, err)
		if e.Status != tc.status || e.Code != tc.code || e.Message != tc.msg {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
}

// TestClientFailuresThatAreNotAPIErrors: a daemon that is not there, a
// success body that is not JSON, and a cancelled context are errors that
// say what was called, are not *Error, and do not quote the token.
func TestClientFailuresThatAreNotAPIErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	notJSON, _ := recorder(t, 200, "text/plain", "hello")
	live, _ := recorder(t, 200, "application/json", "[]")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	const token = "secret-token-value"
	for _, tc := range []struct {
		name string
		call func() error
		has  []string
	}{
		{"nobody listening", func() error { _, err := apiclient.New(closed, token).Services(t.Context()); return err },
			[]string{"GET /api/v1/services", "is `ripcord serve` running there? set --server"}},
		{"not json", func() error { _, err := apiclient.New(notJSON.URL, token).Service(t.Context(), "svc"); return err },
			[]string{"apiclient: decode /api/v1/services/svc"}},
		{"cancelled", func() error { _, err := apiclient.New(live.URL, token).Incidents(cancelled, "", false); return err },
			[]string{"context canceled"}},
		{"bad base", func() error { _, err := apiclient.New("http://[::1", token).Services(t.Context()); return err },
			[]string{"apiclient: "}},
	} {
		err := tc.call()
		var e *apiclient.Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("%s: %v (%T)", tc.name, err, err)
			continue
		}
		for _, h := range tc.has {
			if !strings.Contains(err.Error(), h) {
				t.Errorf("%s: %q lacks %q", tc.name, err, h)
			}
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error quotes the token: %v", tc.name, err)
		}
	}
	if !errors.Is(func() error { _, err := apiclient.New(live.URL, token).Incidents(cancelled, "", false); return err }(), context.Canceled) {
		t.Error("a cancelled call does not wrap context.Canceled")
	}
}

// TestClientReportIsRawAndUnstripped: the report body arrives byte for byte
// (the CLI, not the client, decides what a terminal may see).
func TestClientReportIsRawAndUnstripped(t *testing.T) {
	body := "# INC-1\n\x1b[31mred\x1b[0m \u009b2J\n"
	srv, _ := recorder(t, 200, "text/markdown", body)
	got, err := apiclient.New(srv.URL, "t").Report(t.Context(), "INC-1", "md")
	if err != nil || string(got) != body {
		t.Fatalf("Report: %q %v", got, err)
	}
}
