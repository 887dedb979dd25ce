package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/controller"
	fleetpkg "github.com/ripcord/ripcord/internal/testutil/fleet"
)

// fleet is a real API over n services, each a controller on one SQLite
// file with a file target; every tenth is deployed to v2 (watching).
func fleet(t *testing.T, n int) *fixture {
	t.Helper()
	st, svcs := fleetpkg.Start(t, n, "svc-%04d", 10)
	srv := httptest.NewServer(api.New(api.Options{Services: svcs, Store: st, Tokens: fixtureTokens}).Handler())
	t.Cleanup(srv.Close)
	return &fixture{url: srv.URL, store: st}
}

// page is one GET of a list: names, X-Total-Count and the next link.
func (f *fixture) page(t *testing.T, path string) (names []string, total int, next string) {
	t.Helper()
	r := f.do(t, http.MethodGet, path, viewerToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %+v", path, r.status, r.err)
	}
	var list []controller.Status
	r.decodeInto(t, &list)
	for _, s := range list {
		names = append(names, s.Name)
	}
	total, err := strconv.Atoi(r.header.Get(api.HeaderTotal))
	if err != nil {
		t.Fatalf("GET %s: %s %q", path, api.HeaderTotal, r.header.Get(api.HeaderTotal))
	}
	if l := r.header.Get("Link"); l != "" {
		target, rel, ok := strings.Cut(l, ">; ")
		if !ok || rel != `rel="next"` || !strings.HasPrefix(target, "</api/v1/services?") {
			t.Fatalf("GET %s: Link %q", path, l)
		}
		next = target[1:]
	}
	return names, total, next
}

// TestServicesPaging: a fleet larger than a page is listed a default
// page at a time, in config order, with the total and a next link that
// keeps the filters; following the links yields every service once; a
// page that ends the list has no link.
func TestServicesPaging(t *testing.T) {
	f := fleet(t, api.DefaultServicesPage+37)
	n := api.DefaultServicesPage + 37
	names, total, next := f.page(t, "/api/v1/services")
	if len(names) != api.DefaultServicesPage || total != n || names[0] != "svc-0000" || next == "" {
		t.Fatalf("first page: %d names from %v, total %d, next %q", len(names), names[:1], total, next)
	}
	seen := map[string]bool{}
	path := "/api/v1/services?limit=100"
	for pages := 0; path != ""; pages++ {
		if pages > n/100+1 {
			t.Fatalf("still paging after %d pages", pages)
		}
		names, total, next := f.page(t, path)
		if total != n {
			t.Fatalf("%s: total %d", path, total)
		}
		for _, nm := range names {
			if seen[nm] {
				t.Fatalf("%s repeats %s", path, nm)
			}
			seen[nm] = true
		}
		if next != "" && !strings.Contains(next, "limit=100") {
			t.Fatalf("next link drops the limit: %s", next)
		}
		path = next
	}
	if len(seen) != n {
		t.Fatalf("paged through %d of %d services", len(seen), n)
	}
	// Exactly a page left: no link to an empty page.
	if names, _, next := f.page(t, fmt.Sprintf("/api/v1/services?after=svc-%04d&limit=37", api.DefaultServicesPage-1)); len(names) != 37 || next != "" {
		t.Fatalf("last page: %d names, next %q", len(names), next)
	}
}

// TestServicesFilters: q, state and verdict narrow the list and its
// total, and the next link carries them.
func TestServicesFilters(t *testing.T) {
	f := fleet(t, 120)
	for _, tc := range []struct {
		query string
		want  int
		first string
	}{
		{"q=SVC-01", 20, "svc-0100"},
		{"state=watching", 12, "svc-0000"},
		{"state=stable", 108, "svc-0001"},
		{"state=stable,watching", 120, "svc-0000"},
		{"state=watching&q=svc-00", 10, "svc-0000"},
		{"verdict=degraded", 0, ""},
		{"verdict=inconclusive,healthy,degraded,suspect,blind", 120, "svc-0000"},
	} {
		names, total, next := f.page(t, "/api/v1/services?"+tc.query)
		if total != tc.want || len(names) != tc.want || next != "" || (tc.want > 0 && names[0] != tc.first) {
			t.Errorf("%s: %d names from %v, total %d, next %q; want %d from %s", tc.query, len(names), names, total, next, tc.want, tc.first)
		}
	}
	names, total, next := f.page(t, "/api/v1/services?state=watching&limit=5")
	if len(names) != 5 || total != 12 || names[4] != "svc-0040" {
		t.Fatalf("watching, 5 a page: %v total %d", names, total)
	}
	u, _ := url.Parse(next)
	if q := u.Query(); q.Get("state") != "watching" || q.Get("after") != "svc-0040" || q.Get("limit") != "5" {
		t.Fatalf("next link %q", next)
	}
	if names, _, _ := f.page(t, next); len(names) != 5 || names[0] != "svc-0050" {
		t.Fatalf("second page of watching: %v", names)
	}
}

// TestServicesBadQuery: each bad parameter is a 400 naming it and what
// it takes.
func TestServicesBadQuery(t *testing.T) {
	f := fleet(t, 3)
	for _, tc := range []struct{ query, msg string }{
		{"limit=0", "limit: \"0\" is not a page size; give a whole number from 1 to 1000"},
		{"limit=1001", "limit: \"1001\" is not a page size"},
		{"limit=ten", "limit: \"ten\" is not a page size"},
		{"after=nope", "after: no service \"nope\"; give the name of the last service of the previous page"},
		{"verdict=bad", "verdict: \"bad\" is not one; give one or more (comma-separated) of healthy, suspect, degraded, inconclusive, blind"},
		{"state=healthy", "state: \"healthy\" is not one; give one or more (comma-separated) of stable, watching"},
		{"page=2", "\"page\": unknown query parameter; GET /api/v1/services takes limit, after, q, verdict and state"},
	} {
		r := f.do(t, http.MethodGet, "/api/v1/services?"+tc.query, viewerToken, nil)
		if r.status != http.StatusBadRequest || r.err.Code != "bad_request" || !strings.HasPrefix(r.err.Error, tc.msg) {
			t.Errorf("%s: HTTP %d %+v", tc.query, r.status, r.err)
		}
	}
}

// TestUnknownServiceInALargeFleet: the 404 names a few services and how
// to search, not all of them.
func TestUnknownServiceInALargeFleet(t *testing.T) {
	f := fleet(t, 30)
	r := f.do(t, http.MethodGet, "/api/v1/services/nope", viewerToken, nil)
	want := `no service "nope" (known: svc-0000, svc-0001, svc-0002, svc-0003, svc-0004, svc-0005, svc-0006, svc-0007, svc-0008, svc-0009 and 20 more; search with GET /api/v1/services?q=PART)`
	if r.status != http.StatusNotFound || r.err.Error != want {
		t.Fatalf("HTTP %d %q", r.status, r.err.Error)
	}
}
