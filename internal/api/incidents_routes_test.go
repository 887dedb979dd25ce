package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// seedIncident stores an incident of service, kind and status, created
// minute minutes after a fixed time, and returns its ID.
func seedIncident(t *testing.T, st store.Store, service string, kind incident.Kind, status incident.Status, minute int) string {
	t.Helper()
	at := time.Date(2025, 5, 1, 10, minute, 0, 0, time.UTC)
	id, err := st.CreateIncident(t.Context(), incident.Incident{Service: service, Kind: kind, Severity: incident.Major, Status: status,
		Title: fmt.Sprintf("%s %s %d", service, kind, minute), CreatedAt: at, UpdatedAt: at,
		Events: []incident.Event{{At: at, Type: incident.EvOpened, Actor: "ripcord"}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIncidentListFilters: service, open, kind and limit narrow the list,
// newest first; unknown values match nothing and answer [], never null;
// a bad limit is the default.
func TestIncidentListFilters(t *testing.T) {
	f := newFixture(t)
	if r := f.do(t, "GET", "/api/v1/incidents", viewerToken, nil); strings.TrimSpace(string(r.body)) != "[]" {
		t.Fatalf("no incidents: %s", r.body)
	}
	ids := []string{
		seedIncident(t, f.store, "svc", incident.KindRollback, incident.Investigating, 0),
		seedIncident(t, f.store, "svc", incident.KindManual, incident.Resolved, 1),
		seedIncident(t, f.store, "other", incident.KindRollback, incident.Monitoring, 2),
		seedIncident(t, f.store, "svc", incident.KindBlind, incident.Identified, 3),
	}
	for _, tc := range []struct {
		query string
		want  []int // indexes into ids, newest first
	}{
		{"", []int{3, 2, 1, 0}},
		{"?service=svc", []int{3, 1, 0}},
		{"?service=other", []int{2}},
		{"?service=nope", nil},
		{"?open=true", []int{3, 2, 0}},
		{"?open=1", []int{3, 2, 1, 0}}, // only "true" filters
		{"?kind=rollback", []int{2, 0}},
		{"?kind=manual&open=true", nil},
		{"?service=svc&kind=rollback&open=true", []int{0}},
		{"?kind=nonsense", nil},
		{"?limit=2", []int{3, 2}},
		{"?limit=1&service=svc", []int{3}},
		{"?limit=0", []int{3, 2, 1, 0}},
		{"?limit=x", []int{3, 2, 1, 0}},
	} {
		r := f.do(t, "GET", "/api/v1/incidents"+tc.query, viewerToken, nil)
		var list []incident.Incident
		r.decodeInto(t, &list)
		if len(tc.want) == 0 && strings.TrimSpace(string(r.body)) != "[]" {
			t.Errorf("incidents%s: %s, want []", tc.query, r.body)
		}
		var got, want []string
		for _, i := range list {
			got = append(got, i.ID)
		}
		for _, i := range tc.want {
			want = append(want, ids[i])
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("incidents%s: %v, want %v", tc.query, got, want)
		}
	}
}

// TestIncidentGetAndNotes: an incident comes with its timeline; a note is
// appended by the caller's token name, wakes delivery, and an empty or
// missing note is 400 naming the text field.
func TestIncidentGetAndNotes(t *testing.T) {
	f := newFixture(t)
	id := seedIncident(t, f.store, "svc", incident.KindRollback, incident.Investigating, 0)
	var inc incident.Incident
	f.do(t, "GET", "/api/v1/incidents/"+id, viewerToken, nil).decodeInto(t, &inc)
	if inc.ID != id || inc.Service != "svc" || len(inc.Events) != 1 || inc.Events[0].Type != incident.EvOpened {
		t.Fatalf("get: %+v", inc)
	}
	notes := "/api/v1/incidents/" + id + "/notes"
	for _, tc := range []struct {
		body any
		want int
		msg  string
	}{
		{map[string]string{}, 400, "text: required"},
		{map[string]string{"text": " \t\n"}, 400, "text: required"},
		{"", 400, "text: required"}, // an empty body is an empty request
		{map[string]any{"text": "x", "actor": "someone-else"}, 400, `request body: json: unknown field "actor"`},
		{`{"text": "x"`, 400, "request body: "},
	} {
		r := f.do(t, "POST", notes, operatorToken, tc.body)
		if r.status != tc.want || !strings.HasPrefix(r.err.Error, tc.msg) {
			t.Errorf("note %v: HTTP %d %+v", tc.body, r.status, r.err)
		}
	}
	for i, token := range []string{operatorToken, adminToken} {
		r := f.do(t, "POST", notes, token, map[string]string{"text": fmt.Sprintf("note %d", i)})
		r.decodeInto(t, &inc)
		last := inc.Events[len(inc.Events)-1]
		if r.status != http.StatusOK || last.Type != incident.EvNote || last.Message != fmt.Sprintf("note %d", i) ||
			last.Actor != fixtureTokens[1+i].Name || !last.At.After(inc.CreatedAt) {
			t.Fatalf("note as %s: HTTP %d, last event %+v", fixtureTokens[1+i].Name, r.status, last)
		}
	}
	stored, err := f.store.GetIncident(t.Context(), id)
	if err != nil || len(stored.Events) != 3 {
		t.Fatalf("stored timeline: %d events, %v", len(stored.Events), err)
	}
}

// TestIncidentUnknownIDIs404 on every incident route, naming the ID, and
// without writing anything.
func TestIncidentUnknownIDIs404(t *testing.T) {
	f := newFixture(t)
	for _, rt := range routes {
		if !strings.Contains(rt.path, "{id}") {
			continue
		}
		path := strings.ReplaceAll(rt.path, "{id}", "INC-4242")
		r := f.do(t, rt.method, path, operatorToken, rt.body)
		if r.status != http.StatusNotFound || r.err.Code != "not_found" || !strings.Contains(r.err.Error, "INC-4242") ||
			!strings.Contains(r.err.Error, "ripcord incidents") {
			t.Errorf("%s %s: HTTP %d %+v", rt.method, path, r.status, r.err)
		}
	}
	if incs, _ := f.store.ListIncidents(t.Context(), storeFilterAll); len(incs) != 0 {
		t.Fatalf("404s created %d incidents", len(incs))
	}
}

// TestIncidentStatusBodies: the status route names the status field in
// its 400s; resolve takes an optional note which lands in the event.
func TestIncidentStatusBodies(t *testing.T) {
	f := newFixture(t)
	id := seedIncident(t, f.store, "svc", incident.KindRollback, incident.Investigating, 0)
	for _, tc := range []struct {
		body any
		msg  string
	}{
		{map[string]string{}, `status: incident: unknown status ""`},
		{map[string]string{"status": "Resolved"}, `status: incident: unknown status "Resolved"`},
		{map[string]string{"status": "open"}, "status: "},
		{map[string]any{"status": 3}, "request body: "},
	} {
		r := f.do(t, "POST", "/api/v1/incidents/"+id+"/status", operatorToken, tc.body)
		if r.status != http.StatusBadRequest || !strings.HasPrefix(r.err.Error, tc.msg) {
			t.Errorf("status %v: HTTP %d %+v", tc.body, r.status, r.err)
		}
	}
	var inc incident.Incident
	r := f.do(t, "POST", "/api/v1/incidents/"+id+"/resolve", operatorToken, map[string]string{"text": "rolled forward"})
	r.decodeInto(t, &inc)
	last := inc.Events[len(inc.Events)-1]
	if inc.Status != incident.Resolved || inc.ResolvedAt.IsZero() || last.Message != "status investigating → resolved: rolled forward" ||
		last.Data["from"] != "investigating" || last.Data["to"] != "resolved" {
		t.Fatalf("resolve: %s, last %+v", inc.Status, last)
	}
	r = f.do(t, "POST", "/api/v1/incidents/"+id+"/resolve", operatorToken, "")
	if r.status != http.StatusConflict || r.err.Error != fmt.Sprintf("incident %s is resolved; it cannot move to resolved", id) {
		t.Fatalf("resolve twice: HTTP %d %+v", r.status, r.err)
	}
}

// TestIncidentReport renders the report fresh from the store in either
// format with its content type; any other format is 400 naming the field.
func TestIncidentReport(t *testing.T) {
	f := newFixture(t)
	id := seedIncident(t, f.store, "svc", incident.KindRollback, incident.Investigating, 0)
	if err := f.store.AppendEvent(t.Context(), id, incident.Event{At: time.Date(2025, 5, 1, 10, 5, 0, 0, time.UTC),
		Type: incident.EvNote, Actor: "sre", Message: "<script>alert(1)</script> cache was cold"}); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/incidents/" + id + "/report"
	for _, tc := range []struct {
		query, ctype, has string
	}{
		{"", "text/markdown; charset=utf-8", "# " + id + " — svc rollback 0"},
		{"?format=md", "text/markdown; charset=utf-8", "cache was cold"},
		{"?format=html", "text/html; charset=utf-8", "&lt;script&gt;alert(1)&lt;/script&gt; cache was cold"},
	} {
		r := f.do(t, "GET", base+tc.query, viewerToken, nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != tc.ctype || !strings.Contains(string(r.body), tc.has) {
			t.Errorf("report%s: HTTP %d %s, lacks %q:\n%.400s", tc.query, r.status, r.header.Get("Content-Type"), tc.has, r.body)
		}
		if tc.query == "?format=html" && strings.Contains(string(r.body), "<script>") {
			t.Errorf("the html report carries a note's markup")
		}
	}
	for _, q := range []string{"?format=pdf", "?format=HTML", "?format=markdown"} {
		r := f.do(t, "GET", base+q, viewerToken, nil)
		if r.status != http.StatusBadRequest || r.err.Error != "format: use md or html" {
			t.Errorf("report%s: HTTP %d %+v", q, r.status, r.err)
		}
	}
	// The format is judged before the incident is looked up.
	if r := f.do(t, "GET", "/api/v1/incidents/INC-0/report?format=pdf", viewerToken, nil); r.status != http.StatusBadRequest {
		t.Errorf("bad format for an unknown incident: HTTP %d", r.status)
	}
}
