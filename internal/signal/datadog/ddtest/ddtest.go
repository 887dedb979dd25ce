// Package ddtest is a local Datadog API for tests: it checks the
// timeseries query wire format (path, DD-API-KEY and DD-APPLICATION-KEY,
// JSON body) and answers with series the test chooses. The datadog
// package's own tests and the daemon's e2e tests share it.
package ddtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The keys a source must send.
const (
	APIKey = "dd-api-key-0123456789abcdef"
	AppKey = "dd-app-key-fedcba9876543210"
)

// WireRequest is POST /api/v2/query/timeseries as Datadog documents it.
type WireRequest struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			From     int64 `json:"from"`
			To       int64 `json:"to"`
			Interval int64 `json:"interval"`
			Queries  []struct {
				DataSource string `json:"data_source"`
				Query      string `json:"query"`
				Name       string `json:"name"`
			} `json:"queries"`
			Formulas []struct {
				Formula string `json:"formula"`
			} `json:"formulas"`
		} `json:"attributes"`
	} `json:"data"`
}

// Receiver is a local Datadog API: it checks every request's path,
// headers (the keys APIKey and AppKey) and body against Datadog's
// documented wire format, reporting a mismatch as a test error, and
// answers what Answer returns for each query. Lock Mu to read Hits and
// Bodies, or to change Answer and Status while it serves.
type Receiver struct {
	t      testing.TB
	Srv    *httptest.Server
	Mu     sync.Mutex
	Hits   int
	Bodies []WireRequest
	// Answer gives the series (time → value) of one query; nil: no series.
	Answer func(query string, from, to time.Time) []map[time.Time]float64
	Status func(w http.ResponseWriter) bool // writes an error instead, when true
}

// New starts a Receiver, closed when the test ends.
func New(t testing.TB) *Receiver {
	rc := &Receiver{t: t}
	rc.Srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Srv.Close)
	return rc
}

// URL is the receiver's API root, for api_url.
func (rc *Receiver) URL() string { return rc.Srv.URL }

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.Mu.Lock()
	defer rc.Mu.Unlock()
	rc.Hits++
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/api/v2/query/timeseries":
		rc.t.Errorf("%s %s, want POST /api/v2/query/timeseries", r.Method, r.URL.Path)
	case r.Header.Get("DD-API-KEY") != APIKey || r.Header.Get("DD-APPLICATION-KEY") != AppKey:
		rc.t.Errorf("keys not sent as DD-API-KEY / DD-APPLICATION-KEY")
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("Accept") != "application/json":
		rc.t.Errorf("content type %q, accept %q", r.Header.Get("Content-Type"), r.Header.Get("Accept"))
	}
	var req WireRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		rc.t.Errorf("body is not a timeseries request: %v", err)
	}
	a := req.Data.Attributes
	if req.Data.Type != "timeseries_request" || a.From >= a.To || a.Interval <= 0 || len(a.Queries) == 0 || len(a.Formulas) != len(a.Queries) {
		rc.t.Errorf("request %+v", req)
	}
	rc.Bodies = append(rc.Bodies, req)
	if rc.Status != nil && rc.Status(w) {
		return
	}
	type series struct {
		GroupTags  []string `json:"group_tags"`
		QueryIndex int      `json:"query_index"`
	}
	var out struct {
		Series []series     `json:"series"`
		Times  []int64      `json:"times"`
		Values [][]*float64 `json:"values"`
	}
	from, to := time.UnixMilli(a.From), time.UnixMilli(a.To)
	for ts := from.Truncate(time.Minute); !ts.After(to); ts = ts.Add(time.Duration(a.Interval) * time.Millisecond) {
		out.Times = append(out.Times, ts.UnixMilli())
	}
	for i, q := range a.Queries {
		if a.Formulas[i].Formula != q.Name || q.DataSource != "metrics" {
			rc.t.Errorf("query %d: %+v, formula %q", i, q, a.Formulas[i].Formula)
		}
		for _, s := range rc.Answer(q.Query, from, to) {
			vals := make([]*float64, len(out.Times))
			for j, ms := range out.Times {
				if v, ok := s[time.UnixMilli(ms).UTC()]; ok {
					vals[j] = &v
				}
			}
			out.Series = append(out.Series, series{GroupTags: []string{}, QueryIndex: i})
			out.Values = append(out.Values, vals)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"type": "timeseries_response", "attributes": out}})
}
