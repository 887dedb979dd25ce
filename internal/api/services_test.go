package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// TestServiceReadsMaskVersionURLs: list and get show the service as the
// controller has it, to every role with the version URL's password and
// query values masked, while the switch still reaches the version with
// them.
func TestServiceReadsMaskVersionURLs(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{viewerToken, adminToken} {
		var list []controller.Status
		f.do(t, "GET", "/api/v1/services", token, nil).decodeInto(t, &list)
		var one controller.Status
		r := f.do(t, "GET", "/api/v1/services/svc", token, nil)
		r.decodeInto(t, &one)
		if len(list) != 1 || list[0].Name != "svc" || one.Name != "svc" || one.Active != "v1" || len(one.Versions) != 2 {
			t.Fatalf("list %+v, one %+v", list, one)
		}
		if strings.Contains(string(r.body), "s3cret") {
			t.Fatalf("a version URL's secret is shown: %s", r.body)
		}
		if u := one.Versions[1].URL; !strings.Contains(u, "deploy:***@") || !strings.HasSuffix(u, "?key=***") {
			t.Fatalf("v1 shown as %q", u)
		}
	}
	if got := f.through(t); got != "v1" {
		t.Fatalf("the switch serves %q", got)
	}
}

// TestUnknownServiceIs404NamingTheKnownOnes on every per-service route; a
// name with an escaped slash is one name, not a path.
func TestUnknownServiceIs404NamingTheKnownOnes(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"nope", "svc2", "a%2Fb"} {
		for _, rt := range routes {
			if !strings.HasPrefix(rt.path, "/api/v1/services/svc") {
				continue
			}
			path := strings.Replace(rt.path, "/svc", "/"+name, 1)
			r := f.do(t, rt.method, path, adminToken, rt.body)
			want := `no service "` + strings.ReplaceAll(name, "%2F", "/") + `" (known: svc)`
			if r.status != http.StatusNotFound || r.err.Code != "not_found" || r.err.Error != want {
				t.Errorf("%s %s: HTTP %d %+v", rt.method, path, r.status, r.err)
			}
		}
	}
}

// TestDeploy covers the deploy route's answers: a bad version name or URL
// is 400 naming the field, a new version without a URL and the active
// version's self-loop are refused, and a good deploy moves real traffic.
func TestDeploy(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		msg    string // the error starts with this
	}{
		{"no version", map[string]string{}, 400, "bad_request", "version: is required"},
		{"bad version name", map[string]string{"version": "v2; rm -rf"}, 400, "bad_request", "version: "},
		{"unknown field", map[string]string{"version": "v2", "image": "x"}, 400, "bad_request", `request body: json: unknown field "image"`},
		{"not json", "{version: v2}", 400, "bad_request", "request body: "},
		{"wrong type", `{"version": 2}`, 400, "bad_request", "request body: "},
		{"relative url", map[string]string{"version": "v2", "url": "/v2"}, 400, "bad_request", "url: must be an absolute http:// or https:// URL"},
		{"ftp url", map[string]string{"version": "v2", "url": "ftp://127.0.0.1/"}, 400, "bad_request", "url: must be an absolute"},
		{"bad port", map[string]string{"version": "v2", "url": "http://127.0.0.1:99999/"}, 400, "bad_request", "url: the port"},
		{"the API itself", map[string]string{"version": "v2", "url": f.url}, 400, "bad_request", api.ErrSelfLoop.Error()},
		{"the switch itself", map[string]string{"version": "v2", "url": f.proxyURL + "/x"}, 400, "bad_request", api.ErrSelfLoop.Error()},
		{"new version without url", map[string]string{"version": "v2"}, 409, "conflict", "invalid request: version \"v2\" is new to svc: give its --url"},
	} {
		r := f.do(t, "POST", "/api/v1/services/svc/deploy", operatorToken, tc.body)
		if r.status != tc.status || r.err.Code != tc.code || !strings.HasPrefix(r.err.Error, tc.msg) {
			t.Errorf("%s: HTTP %d %+v, want %d %s %q…", tc.name, r.status, r.err, tc.status, tc.code, tc.msg)
		}
	}
	if st := f.svc.Status(); st.Active != "v1" || len(st.Versions) != 2 || f.through(t) != "v1" {
		t.Fatalf("refused deploys changed the service: %+v", st)
	}

	var st controller.Status
	r := f.do(t, "POST", "/api/v1/services/svc/deploy", operatorToken, map[string]string{"version": "v2", "url": f.backends["v2"]})
	r.decodeInto(t, &st)
	if r.status != http.StatusOK || st.Active != "v2" || st.State != controller.StateWatching || len(st.Versions) != 3 {
		t.Fatalf("deploy v2: HTTP %d %+v", r.status, st)
	}
	if got := f.through(t); got != "v2" {
		t.Fatalf("after deploying v2 the switch serves %q", got)
	}
	deps, err := f.store.ListDeployments(t.Context(), "svc", 10)
	if err != nil || len(deps) != 1 || deps[0].Version != "v2" || deps[0].Actor != "sre" {
		t.Fatalf("deployments %+v %v", deps, err)
	}
	// A known version needs no URL the second time.
	f.do(t, "POST", "/api/v1/services/svc/deploy", adminToken, map[string]string{"version": "v0"}).decodeInto(t, &st)
	if st.Active != "v0" || f.through(t) != "v0" {
		t.Fatalf("redeploy v0: %+v", st)
	}
}

// TestRollback: refusals are 409 with the controller's reason and open no
// incident; a rollback switches traffic, marks the version it leaves
// known-bad and returns the manual incident it opened, with the reason.
func TestRollback(t *testing.T) {
	f := newFixture(t)
	rb := "/api/v1/services/svc/rollback"
	for _, tc := range []struct {
		body any
		msg  string
	}{
		{map[string]string{"to": "v9"}, `svc has no version "v9"`},
		{map[string]string{"to": "v1"}, "svc is already on v1"},
	} {
		r := f.do(t, "POST", rb, operatorToken, tc.body)
		if r.status != http.StatusConflict || r.err.Code != "conflict" || !strings.Contains(r.err.Error, tc.msg) {
			t.Errorf("%v: HTTP %d %+v", tc.body, r.status, r.err)
		}
	}
	if r := f.do(t, "POST", rb, operatorToken, map[string]any{"to": "v0", "force": true}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.err.Error, `unknown field "force"`) {
		t.Errorf("unknown field: HTTP %d %+v", r.status, r.err)
	}
	if incs, _ := f.store.ListIncidents(t.Context(), storeFilterAll); len(incs) != 0 {
		t.Fatalf("refused rollbacks opened %d incidents", len(incs))
	}

	var res api.RollbackResponse
	r := f.do(t, "POST", rb, operatorToken, map[string]string{"reason": "p99 doubled"}) // to: the newest older healthy version
	r.decodeInto(t, &res)
	if r.status != http.StatusOK || res.IncidentID == "" || res.Service.Active != "v0" {
		t.Fatalf("rollback: HTTP %d %+v", r.status, res)
	}
	if got := f.through(t); got != "v0" {
		t.Fatalf("after the rollback the switch serves %q", got)
	}
	if v1 := res.Service.Versions[1]; v1.Name != "v1" || !v1.KnownBad || strings.Contains(v1.URL, "s3cret") {
		t.Fatalf("v1 after the rollback: %+v", v1)
	}
	inc, err := f.store.GetIncident(t.Context(), res.IncidentID)
	if err != nil || inc.Kind != incident.KindManual || inc.Reason != "p99 doubled" || inc.FromVersion != "v1" || inc.ToVersion != "v0" {
		t.Fatalf("incident %+v %v", inc, err)
	}
	// Nothing older than v0 to fall back to.
	if r := f.do(t, "POST", rb, operatorToken, map[string]string{}); r.status != http.StatusConflict || !strings.Contains(r.err.Error, "give --to") {
		t.Fatalf("rollback from the oldest version: HTTP %d %+v", r.status, r.err)
	}
}

// TestPauseAndResume are always accepted outside a revert, persist, and
// take an empty body or none at all.
func TestPauseAndResume(t *testing.T) {
	f := newFixture(t)
	for _, step := range []struct {
		path, body string
		paused     bool
	}{
		{"/api/v1/services/svc/pause", "{}", true},
		{"/api/v1/services/svc/pause", "", true}, // twice is fine
		{"/api/v1/services/svc/resume", "", false},
		{"/api/v1/services/svc/resume", "{}", false},
	} {
		r := f.do(t, "POST", step.path, operatorToken, step.body)
		var st controller.Status
		r.decodeInto(t, &st)
		if r.status != http.StatusOK || st.Paused != step.paused {
			t.Fatalf("%s %q: HTTP %d paused=%v", step.path, step.body, r.status, st.Paused)
		}
		saved, err := f.store.LoadService(t.Context(), "svc")
		if err != nil || saved.Paused != step.paused {
			t.Fatalf("%s: stored paused=%v (%v)", step.path, saved.Paused, err)
		}
	}
}

// TestPushSignals: each missing or wrong part is 400 naming it and stores
// nothing; a good push is 202 and readable by the controller's source.
func TestPushSignals(t *testing.T) {
	f := newFixture(t)
	path := "/api/v1/services/svc/signals"
	for _, tc := range []struct {
		name string
		body any
		msg  string
	}{
		{"no version", map[string]any{"values": map[string]float64{"quality_score": 1}, "samples": 1}, "version: required"},
		{"no values", map[string]any{"version": "v1", "samples": 1}, "values: required"},
		{"empty values", map[string]any{"version": "v1", "values": map[string]float64{}, "samples": 1}, "values: required"},
		{"foreign version", map[string]any{"version": "v7", "values": map[string]float64{"quality_score": 1}, "samples": 1},
			`version: "v7" is not a version of svc; push for one of: v0, v1`},
		{"unknown metric", map[string]any{"version": "v1", "values": map[string]float64{"vibes": 1}, "samples": 1}, `push: values: "vibes" is not a metric`},
		{"no samples", map[string]any{"version": "v1", "values": map[string]float64{"quality_score": 1}}, "push: samples must be > 0"},
		{"negative samples", map[string]any{"version": "v1", "values": map[string]float64{"quality_score": 1}, "samples": -3}, "push: samples must be > 0"},
		{"string value", `{"version":"v1","values":{"quality_score":"high"},"samples":1}`, "request body: "},
	} {
		r := f.do(t, "POST", path, operatorToken, tc.body)
		if r.status != http.StatusBadRequest || r.err.Code != "bad_request" || !strings.HasPrefix(r.err.Error, tc.msg) {
			t.Errorf("%s: HTTP %d %+v, want 400 %q…", tc.name, r.status, r.err, tc.msg)
		}
	}
	if f.push.Expected("svc", signal.QualityScore) {
		t.Fatal("a refused push was stored")
	}
	long := strings.Repeat("x", 500)
	r := f.do(t, "POST", path, operatorToken, map[string]any{"version": long, "values": map[string]float64{"quality_score": 1}, "samples": 1})
	if r.status != http.StatusBadRequest || strings.Contains(r.err.Error, long) {
		t.Errorf("a long version name is quoted in full: %d bytes", len(r.err.Error))
	}

	now := time.Now()
	r = f.do(t, "POST", path, operatorToken, map[string]any{"version": "v1", "samples": 40,
		"values": map[string]float64{signal.QualityScore: 0.8, signal.ToxicOutputRate: 0.01}})
	var acc map[string]int
	r.decodeInto(t, &acc)
	if r.status != http.StatusAccepted || acc["accepted"] != 2 {
		t.Fatalf("push: HTTP %d %s", r.status, r.body)
	}
	s, err := f.push.Read(t.Context(), signal.Query{Service: "svc", Version: "v1", Metric: signal.QualityScore,
		Since: now.Add(-time.Minute), At: now.Add(time.Minute)})
	if err != nil || s.Value != 0.8 || s.Samples != 40 {
		t.Fatalf("pushed quality reads %+v, %v", s, err)
	}
}

// TestDecisionsList: an empty list is [] (pipelines iterate it), decisions
// are newest first and limit bounds them; a bad limit is the default.
func TestDecisionsList(t *testing.T) {
	f := newFixture(t)
	path := "/api/v1/services/svc/decisions"
	if r := f.do(t, "GET", path, viewerToken, nil); strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("no decisions: %s", r.body)
	}
	at := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, err := f.store.RecordDecision(t.Context(), store.Decision{Service: "svc", CreatedAt: at.Add(time.Duration(i) * time.Second),
			Action: "rollback", FromVersion: "v1", ToVersion: "v0", Reason: "r" + string(rune('0'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"r2", "r1", "r0"}},
		{"?limit=2", []string{"r2", "r1"}},
		{"?limit=0", []string{"r2", "r1", "r0"}},
		{"?limit=-1", []string{"r2", "r1", "r0"}},
		{"?limit=lots", []string{"r2", "r1", "r0"}},
	} {
		var ds []store.Decision
		f.do(t, "GET", path+tc.query, viewerToken, nil).decodeInto(t, &ds)
		var got []string
		for _, d := range ds {
			got = append(got, d.Reason)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("decisions%s: %v, want %v", tc.query, got, tc.want)
		}
	}
}

// TestHealthAndMetrics: /healthz needs no token and says ok; /metrics is
// the wired handler, or a JSON 404 when there is none.
func TestHealthAndMetrics(t *testing.T) {
	f := newFixture(t)
	if r := f.do(t, "GET", "/healthz", "", nil); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/metrics", "", nil); string(r.body) != "ripcord_up 1\n" {
		t.Fatalf("metrics: %d %s", r.status, r.body)
	}
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bare := httptest.NewServer(api.New(api.Options{Store: st, Tokens: fixtureTokens}).Handler())
	defer bare.Close()
	resp, err := http.Get(bare.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), `"code":"not_found"`) {
		t.Fatalf("metrics without a handler: %d %s", resp.StatusCode, b)
	}
}

// TestNoTokensLetsNobodyIn: a server built without tokens refuses every
// token, rather than running open.
func TestNoTokensLetsNobodyIn(t *testing.T) {
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(api.New(api.Options{Store: st}).Handler())
	defer srv.Close()
	for _, h := range []string{"", "Bearer ", "Bearer x", "Bearer " + adminToken} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/incidents", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q with no tokens configured: HTTP %d", h, resp.StatusCode)
		}
	}
}
