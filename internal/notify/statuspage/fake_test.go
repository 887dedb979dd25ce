package statuspage

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testKey  = "sp-SECRET-key-0123456789"
	testPage = "pg1"
	testComp = "cmp1"
)

// fakeStatuspage implements the slice of the Statuspage v1 API ripcord uses,
// statefully, and fails the test on any request that breaks the wire format.
type fakeStatuspage struct {
	t   *testing.T
	srv *httptest.Server

	mu           sync.Mutex
	incidents    []*fakeIncident
	requests     []fakeRequest
	omitMetadata bool // answer lists without metadata, as a fallback test
	loseCreate   bool // create the incident, then answer 502
}

type fakeIncident struct {
	ID         string
	Name       string
	Status     string
	Metadata   map[string]any
	Components map[string]string
	Updates    []fakeUpdate // oldest first
}

type fakeUpdate struct {
	Status, Body string
	At           time.Time
}

type fakeRequest struct {
	Method, Path string
	Query        string
	Body         incidentReq
	At           time.Time
}

func newFake(t *testing.T) *fakeStatuspage {
	f := &fakeStatuspage{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeStatuspage) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != "OAuth "+testKey {
		f.t.Errorf("%s %s: Authorization = %q, want OAuth <key>", r.Method, r.URL.Path, got)
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	rec := fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, At: time.Now()}
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("%s %s: Content-Type = %q", r.Method, r.URL.Path, ct)
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec.Body); err != nil {
			f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
		}
	}
	f.requests = append(f.requests, rec)
	f.route(w, r, rec)
}

func (f *fakeStatuspage) route(w http.ResponseWriter, r *http.Request, rec fakeRequest) {
	prefix := "/v1/pages/" + testPage + "/incidents"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	switch {
	case !ok:
		f.t.Errorf("unexpected path %s", r.URL.Path)
		http.NotFound(w, r)
	case rest == "" && r.Method == http.MethodPost:
		f.create(w, rec.Body.Incident)
	case rest == "" && r.Method == http.MethodGet:
		f.list(w, r, func(inc *fakeIncident) bool { return inc.mentions(r.URL.Query().Get("q")) })
	case rest == "/unresolved" && r.Method == http.MethodGet:
		f.list(w, r, func(inc *fakeIncident) bool { return inc.Status != "resolved" && inc.Status != "postmortem" })
	case r.Method == http.MethodGet:
		f.get(w, strings.TrimPrefix(rest, "/"))
	case r.Method == http.MethodPatch:
		f.patch(w, strings.TrimPrefix(rest, "/"), rec.Body.Incident)
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

func (inc *fakeIncident) mentions(q string) bool {
	if strings.Contains(inc.Name, q) {
		return true
	}
	return slices.ContainsFunc(inc.Updates, func(u fakeUpdate) bool { return strings.Contains(u.Body, q) })
}

func (f *fakeStatuspage) create(w http.ResponseWriter, in incidentFields) {
	if in.Name == "" || in.Status == "" || in.Body == "" {
		f.t.Errorf("create: name, status and body are required, got %+v", in)
	}
	inc := &fakeIncident{
		ID: fmt.Sprintf("sp%d", len(f.incidents)+1), Name: in.Name, Status: in.Status,
		Metadata: in.Metadata, Components: maps.Clone(in.Components),
		Updates: []fakeUpdate{{Status: in.Status, Body: in.Body, At: time.Now()}},
	}
	f.incidents = append(f.incidents, inc)
	if f.loseCreate {
		f.loseCreate = false
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(f.wire(inc))
}

func (f *fakeStatuspage) patch(w http.ResponseWriter, id string, in incidentFields) {
	inc := f.byID(id)
	if inc == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	if in.Name != "" || in.Metadata != nil {
		f.t.Errorf("patch %s: unexpected name/metadata %+v", id, in)
	}
	inc.Status = in.Status
	for k, v := range in.Components {
		if inc.Components == nil {
			inc.Components = map[string]string{}
		}
		inc.Components[k] = v
	}
	inc.Updates = append(inc.Updates, fakeUpdate{Status: in.Status, Body: in.Body, At: time.Now()})
	json.NewEncoder(w).Encode(f.wire(inc))
}

func (f *fakeStatuspage) get(w http.ResponseWriter, id string) {
	inc := f.byID(id)
	if inc == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	json.NewEncoder(w).Encode(f.wire(inc))
}

func (f *fakeStatuspage) list(w http.ResponseWriter, r *http.Request, keep func(*fakeIncident) bool) {
	var out []map[string]any
	for _, inc := range f.incidents {
		if keep(inc) {
			out = append(out, f.wire(inc))
		}
	}
	if p, _ := strconv.Atoi(r.URL.Query().Get("page")); p > 1 {
		out = nil
	}
	json.NewEncoder(w).Encode(out)
}

// wire renders inc as the API does: incident_updates newest first.
func (f *fakeStatuspage) wire(inc *fakeIncident) map[string]any {
	var ups []map[string]any
	for i := len(inc.Updates) - 1; i >= 0; i-- {
		u := inc.Updates[i]
		ups = append(ups, map[string]any{"status": u.Status, "body": u.Body, "created_at": u.At.Format(time.RFC3339Nano)})
	}
	m := map[string]any{"id": inc.ID, "name": inc.Name, "status": inc.Status, "page_id": testPage, "incident_updates": ups}
	if !f.omitMetadata {
		m["metadata"] = inc.Metadata
	}
	return m
}

func (f *fakeStatuspage) byID(id string) *fakeIncident {
	for _, inc := range f.incidents {
		if inc.ID == id {
			return inc
		}
	}
	return nil
}

func (f *fakeStatuspage) snapshot() ([]*fakeIncident, []fakeRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.incidents), slices.Clone(f.requests)
}

func (f *fakeStatuspage) count(method, suffix string) int {
	_, reqs := f.snapshot()
	n := 0
	for _, r := range reqs {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}
