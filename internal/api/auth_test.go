package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/config"
)

// route is one API route with a body its handler accepts and the status it
// answers with when the caller may use it.
type route struct {
	method, path string
	body         any
	role         string // "" = no token needed
	ok           int
}

// routes lists every route the API serves; {id} is replaced with a real
// incident.
var routes = []route{
	{"GET", "/healthz", nil, "", http.StatusOK},
	{"GET", "/metrics", nil, "", http.StatusOK},
	{"GET", "/api/v1/services", nil, config.RoleViewer, http.StatusOK},
	{"GET", "/api/v1/services/svc", nil, config.RoleViewer, http.StatusOK},
	{"GET", "/api/v1/services/svc/decisions", nil, config.RoleViewer, http.StatusOK},
	{"POST", "/api/v1/services/svc/deploy", map[string]string{"version": "v0"}, config.RoleOperator, http.StatusOK},
	{"POST", "/api/v1/services/svc/rollback", map[string]string{"to": "v0"}, config.RoleOperator, http.StatusOK},
	{"POST", "/api/v1/services/svc/pause", map[string]string{}, config.RoleOperator, http.StatusOK},
	{"POST", "/api/v1/services/svc/resume", map[string]string{}, config.RoleOperator, http.StatusOK},
	{"POST", "/api/v1/services/svc/signals", map[string]any{"version": "v1", "values": map[string]float64{"quality_score": 0.9}, "samples": 10},
		config.RoleOperator, http.StatusAccepted},
	{"GET", "/api/v1/incidents", nil, config.RoleViewer, http.StatusOK},
	{"GET", "/api/v1/incidents/{id}", nil, config.RoleViewer, http.StatusOK},
	{"GET", "/api/v1/incidents/{id}/report", nil, config.RoleViewer, http.StatusOK},
	{"POST", "/api/v1/incidents/{id}/notes", map[string]string{"text": "looking"}, config.RoleOperator, http.StatusOK},
	{"POST", "/api/v1/incidents/{id}/status", map[string]string{"status": "identified"}, config.RoleOperator, http.StatusOK},
	{"POST", "/api/v1/incidents/{id}/resolve", map[string]string{"text": "done"}, config.RoleOperator, http.StatusOK},
}

// TestEveryRouteEnforcesItsRole calls every route as each kind of caller,
// each on a fresh daemon so one call's effect cannot decide the next: no
// token and an unknown token get 401 with a Bearer challenge, a role below
// the route's gets 403 naming both roles, and every role at or above it
// gets the route's success status.
func TestEveryRouteEnforcesItsRole(t *testing.T) {
	callers := []struct {
		name, token, role string
	}{
		{"no token", "", ""},
		{"unknown token", "not-a-configured-token", ""},
		{"viewer", viewerToken, config.RoleViewer},
		{"operator", operatorToken, config.RoleOperator},
		{"admin", adminToken, config.RoleAdmin},
	}
	rank := map[string]int{"": 0, config.RoleViewer: 1, config.RoleOperator: 2, config.RoleAdmin: 3}
	for _, rt := range routes {
		for _, c := range callers {
			t.Run(rt.method+" "+rt.path+"/"+c.name, func(t *testing.T) {
				f := newFixture(t)
				path := strings.ReplaceAll(rt.path, "{id}", openIncident(t, f.store))
				r := f.do(t, rt.method, path, c.token, rt.body)
				switch {
				case rt.role == "":
					if r.status != rt.ok {
						t.Fatalf("open route: HTTP %d %s", r.status, r.body)
					}
				case c.role == "":
					if r.status != http.StatusUnauthorized || r.err.Code != "unauthorized" ||
						r.header.Get("WWW-Authenticate") != `Bearer realm="ripcord"` || !strings.Contains(r.err.Error, "Authorization: Bearer") {
						t.Fatalf("HTTP %d %+v, WWW-Authenticate %q", r.status, r.err, r.header.Get("WWW-Authenticate"))
					}
				case rank[c.role] < rank[rt.role]:
					if r.status != http.StatusForbidden || r.err.Code != "forbidden" ||
						!strings.Contains(r.err.Error, "has role "+c.role) || !strings.Contains(r.err.Error, "needs "+rt.role) {
						t.Fatalf("HTTP %d %+v", r.status, r.err)
					}
				default:
					if r.status != rt.ok {
						t.Fatalf("HTTP %d %s, want %d", r.status, r.body, rt.ok)
					}
				}
			})
		}
	}
}

// TestRefusedCallersChangeNothing: a 401 or 403 is decided before the
// handler runs, so a viewer's rollback leaves the switch, the service and
// the incident list as they were.
func TestRefusedCallersChangeNothing(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", "wrong", viewerToken} {
		for _, rt := range []route{
			{"POST", "/api/v1/services/svc/rollback", map[string]string{"to": "v0"}, "", 0},
			{"POST", "/api/v1/services/svc/deploy", map[string]string{"version": "v0"}, "", 0},
			{"POST", "/api/v1/services/svc/pause", map[string]string{}, "", 0},
		} {
			if r := f.do(t, rt.method, rt.path, token, rt.body); r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
				t.Fatalf("%s as %q: HTTP %d", rt.path, token, r.status)
			}
		}
	}
	st := f.svc.Status()
	if st.Active != "v1" || st.Paused || f.through(t) != "v1" {
		t.Fatalf("after refused calls: active %s, paused %v, switch serves %s", st.Active, st.Paused, f.through(t))
	}
	incs, err := f.store.ListIncidents(t.Context(), storeFilterAll)
	if err != nil || len(incs) != 0 {
		t.Fatalf("refused calls opened incidents: %v %v", incs, err)
	}
}

// TestAuthorizationHeaderForms: only the exact token, sent with the Bearer
// scheme, gets in; a prefix or extension of a real token, other schemes and
// empty values do not. The scheme name is case-insensitive (RFC 9110
// §11.1), so clients that send "bearer" are not locked out.
func TestAuthorizationHeaderForms(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + viewerToken, http.StatusOK},
		{"bearer " + viewerToken, http.StatusOK},
		{"BEARER " + viewerToken, http.StatusOK},
		{"Bearer " + viewerToken[:len(viewerToken)-1], http.StatusUnauthorized},
		{"Bearer " + viewerToken + "x", http.StatusUnauthorized},
		{"Bearer  " + viewerToken, http.StatusUnauthorized}, // the token is everything after one space
		{"Bearer", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{viewerToken, http.StatusUnauthorized},
		{"Basic " + viewerToken, http.StatusUnauthorized},
		{"Token " + viewerToken, http.StatusUnauthorized},
	} {
		r := f.do(t, "GET", "/api/v1/services", "", nil, "Authorization: "+tc.header)
		if r.status != tc.want {
			t.Errorf("Authorization %q: HTTP %d, want %d", tc.header, r.status, tc.want)
		}
	}
}

// TestErrorsNeverQuoteTokens: a refused token is not echoed back, and a
// 403 names the token by its configured name only.
func TestErrorsNeverQuoteTokens(t *testing.T) {
	f := newFixture(t)
	guess := "almost-" + operatorToken
	r := f.do(t, "GET", "/api/v1/services", guess, nil)
	if r.status != http.StatusUnauthorized || strings.Contains(string(r.body), guess) {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	r = f.do(t, "POST", "/api/v1/services/svc/pause", viewerToken, map[string]string{})
	if r.status != http.StatusForbidden || strings.Contains(string(r.body), viewerToken) || !strings.Contains(r.err.Error, "token dash ") {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
}

// TestGuardRefusesWhatAPageCanSend: a POST without a JSON content type is
// 415 and a request a browser marks cross-site is 403, for every caller,
// an admin included, before routing or authentication; neither changes the
// service.
func TestGuardRefusesWhatAPageCanSend(t *testing.T) {
	f := newFixture(t)
	pause := "/api/v1/services/svc/pause"
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		want                      int
		code                      string
	}{
		{"form post", "POST", pause, adminToken, "{}", []string{"Content-Type: application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"text/plain post", "POST", pause, adminToken, "{}", []string{"Content-Type: text/plain"}, 415, "unsupported_media_type"},
		{"multipart post", "POST", pause, adminToken, "{}", []string{"Content-Type: multipart/form-data; boundary=x"}, 415, "unsupported_media_type"},
		{"json suffix type", "POST", pause, adminToken, "{}", []string{"Content-Type: application/json-patch+json"}, 415, "unsupported_media_type"},
		{"malformed type", "POST", pause, adminToken, "{}", []string{"Content-Type: application/json;;"}, 415, "unsupported_media_type"},
		{"no content type, no token", "POST", pause, "", "{}", []string{"Content-Type: "}, 415, "unsupported_media_type"},
		{"unknown route post", "POST", "/api/v1/nope", adminToken, "{}", []string{"Content-Type: text/plain"}, 415, "unsupported_media_type"},
		{"cross-site GET", "GET", "/api/v1/services", adminToken, nil, []string{"Sec-Fetch-Site: cross-site"}, 403, "cross_site"},
		{"cross-site POST", "POST", pause, adminToken, "{}", []string{"Sec-Fetch-Site: cross-site"}, 403, "cross_site"},
		{"cross-site health", "GET", "/healthz", "", nil, []string{"Sec-Fetch-Site: cross-site"}, 403, "cross_site"},
	} {
		r := f.do(t, tc.method, tc.path, tc.token, tc.body, tc.headers...)
		if r.status != tc.want || r.err.Code != tc.code {
			t.Errorf("%s: HTTP %d %+v, want %d %s", tc.name, r.status, r.err, tc.want, tc.code)
		}
	}
	if st := f.svc.Status(); st.Paused {
		t.Fatal("a refused request paused the service")
	}
}

// TestGuardLetsThroughWhatIsNotCrossSite: JSON with parameters or in
// another case, GETs without a content type, and same-origin, same-site or
// user-initiated (none) fetches all reach the handler.
func TestGuardLetsThroughWhatIsNotCrossSite(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		method, path string
		body         any
		headers      []string
		want         int
	}{
		{"POST", "/api/v1/services/svc/pause", "{}", []string{"Content-Type: application/json; charset=utf-8"}, http.StatusOK},
		{"POST", "/api/v1/services/svc/resume", "{}", []string{"Content-Type: Application/JSON"}, http.StatusOK},
		{"GET", "/api/v1/services", nil, []string{"Sec-Fetch-Site: same-origin"}, http.StatusOK},
		{"GET", "/api/v1/services", nil, []string{"Sec-Fetch-Site: same-site"}, http.StatusOK},
		{"GET", "/api/v1/services", nil, []string{"Sec-Fetch-Site: none"}, http.StatusOK},
		{"GET", "/api/v1/services", nil, []string{"Content-Type: text/plain"}, http.StatusOK},
	} {
		if r := f.do(t, tc.method, tc.path, operatorToken, tc.body, tc.headers...); r.status != tc.want {
			t.Errorf("%s %s %v: HTTP %d %s", tc.method, tc.path, tc.headers, r.status, r.body)
		}
	}
}

// TestUnknownRoutesAreJSON404s: paths and methods the API does not serve
// answer a JSON 404 naming what was asked, even unauthenticated (there is
// nothing to protect), and /metrics is 404 when no handler is wired.
func TestUnknownRoutesAreJSON404s(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/api/v1/nope"},
		{"GET", "/api/v2/services"},
		{"DELETE", "/api/v1/services/svc"},
		{"GET", "/api/v1/services/svc/deploy"},
		{"PUT", "/api/v1/incidents"},
	} {
		r := f.do(t, tc.method, tc.path, "", nil)
		if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: HTTP %d", tc.method, tc.path, r.status)
			continue
		}
		if r.status == http.StatusNotFound && (r.err.Code != "not_found" || !strings.Contains(r.err.Error, tc.method+" "+tc.path)) {
			t.Errorf("%s %s: %+v", tc.method, tc.path, r.err)
		}
	}
}
