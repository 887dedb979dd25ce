package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/store"
)

// Paging of GET /api/v1/services. One instance may guard 10,000
// services, whose whole list was 5.9 MB and took hundreds of
// milliseconds to encode on every call; a page keeps each answer small.
// The answer stays a bare JSON array (what clients before paging
// decode), and a fleet no larger than DefaultServicesPage still gets
// every service in one answer, exactly as before.
const (
	// DefaultServicesPage is the page size without ?limit=.
	DefaultServicesPage = 500
	// MaxServicesPage caps ?limit=.
	MaxServicesPage = maxLimit
)

// Response headers of a page of services.
const (
	// HeaderTotal is how many services match the filters, on every page.
	HeaderTotal = "X-Total-Count"
)

// serviceQuery is a list request's filters and page.
type serviceQuery struct {
	limit    int
	after    int // position in s.order to start after; -1 = from the first
	q        string
	verdicts []string
	states   []string
	raw      url.Values // the request's own filters, for the next page's link
}

var (
	verdictNames = func() []string {
		var out []string
		for _, v := range detect.Verdicts {
			out = append(out, v.String())
		}
		return out
	}()
	stateNames = []string{string(controller.StateStable), string(controller.StateWatching), string(controller.StateShadowing),
		string(controller.StateCanary), string(controller.StateReverting), string(controller.StateVerifying), string(controller.StateEscalated)}
)

// parseServiceQuery reads ?limit=&after=&q=&verdict=&state=; a bad value
// is an error naming the parameter and what it accepts.
func (s *Server) parseServiceQuery(r *http.Request) (serviceQuery, error) {
	v := r.URL.Query()
	out := serviceQuery{limit: DefaultServicesPage, after: -1, q: strings.ToLower(strings.TrimSpace(v.Get("q"))), raw: url.Values{}}
	for _, k := range []string{"q", "verdict", "state", "limit"} {
		if v.Has(k) {
			out.raw.Set(k, v.Get(k))
		}
	}
	for k := range v {
		if !slices.Contains([]string{"limit", "after", "q", "verdict", "state"}, k) {
			return out, fmt.Errorf("%.40q: unknown query parameter; GET /api/v1/services takes limit, after, q, verdict and state", k)
		}
	}
	if l := v.Get("limit"); v.Has("limit") {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxServicesPage {
			return out, fmt.Errorf("limit: %.20q is not a page size; give a whole number from 1 to %d (default %d)", l, MaxServicesPage, DefaultServicesPage)
		}
		out.limit = n
	}
	if a := v.Get("after"); v.Has("after") {
		i, ok := s.pos[a]
		if !ok {
			return out, fmt.Errorf("after: no service %.80q; give the name of the last service of the previous page (the Link header's next URL carries it), or leave after out for the first page", a)
		}
		out.after = i
	}
	var err error
	if out.verdicts, err = oneOf(v, "verdict", verdictNames); err != nil {
		return out, err
	}
	out.states, err = oneOf(v, "state", stateNames)
	return out, err
}

// oneOf is a comma-separated filter's values, each checked against allowed.
func oneOf(v url.Values, key string, allowed []string) ([]string, error) {
	if !v.Has(key) {
		return nil, nil
	}
	var out []string
	for _, x := range strings.Split(v.Get(key), ",") {
		x = strings.ToLower(strings.TrimSpace(x))
		if !slices.Contains(allowed, x) {
			return nil, fmt.Errorf("%s: %.40q is not one; give one or more (comma-separated) of %s", key, x, strings.Join(allowed, ", "))
		}
		out = append(out, x)
	}
	return out, nil
}

// listServices answers a page of the services matching the filters, in
// the config's order, as a JSON array. X-Total-Count is how many match;
// when more follow, a Link header (RFC 8288) with rel="next" is the URL
// of the next page: the same filters, after= the last service of this one.
// A cursor by name, not an offset, so a page never repeats or skips a
// service when verdicts change between two requests.
func (s *Server) listServices(w http.ResponseWriter, r *http.Request, _ string) {
	q, err := s.parseServiceQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	out := make([]controller.Status, 0, min(q.limit, len(s.order)))
	byName := q.verdicts == nil && q.states == nil
	total, last, more := 0, "", false
	for i, n := range s.order {
		if q.q != "" && !strings.Contains(strings.ToLower(n), q.q) {
			continue
		}
		inPage := i > q.after && len(out) < q.limit
		if byName && !inPage {
			total++ // matched by name alone: counted without reading its status
			more = more || i > q.after
			continue
		}
		st := s.svcs[n].Status()
		if !byName && ((q.verdicts != nil && !slices.Contains(q.verdicts, st.Verdict)) || (q.states != nil && !slices.Contains(q.states, string(st.State)))) {
			continue
		}
		total++
		if !inPage {
			more = more || i > q.after
			continue
		}
		st.Versions = store.RedactedVersions(st.Versions)
		out = append(out, st)
		last = n
	}
	w.Header().Set(HeaderTotal, strconv.Itoa(total))
	if more {
		// Only when a service after this page matches: a client never
		// fetches an empty page.
		next := url.Values{}
		for k, v := range q.raw {
			next[k] = v
		}
		next.Set("after", last)
		w.Header().Set("Link", "</api/v1/services?"+next.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
}
