package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
)

const (
	apiKey = "dd-api-key-0123456789abcdef"
	appKey = "dd-app-key-fedcba9876543210"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// wireRequest is POST /api/v2/query/timeseries as Datadog documents it.
type wireRequest struct {
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

// receiver is a local Datadog API: it checks every request's path,
// headers and body, and answers what answer returns for each query.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	hits   int
	bodies []wireRequest
	// answer gives the series (time → value) of one query; nil: no series.
	answer func(query string, from, to time.Time) []map[time.Time]float64
	status func(w http.ResponseWriter) bool // writes an error instead, when true
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hits++
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/api/v2/query/timeseries":
		rc.t.Errorf("%s %s, want POST /api/v2/query/timeseries", r.Method, r.URL.Path)
	case r.Header.Get("DD-API-KEY") != apiKey || r.Header.Get("DD-APPLICATION-KEY") != appKey:
		rc.t.Errorf("keys not sent as DD-API-KEY / DD-APPLICATION-KEY")
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("Accept") != "application/json":
		rc.t.Errorf("content type %q, accept %q", r.Header.Get("Content-Type"), r.Header.Get("Accept"))
	}
	var req wireRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		rc.t.Errorf("body is not a timeseries request: %v", err)
	}
	a := req.Data.Attributes
	if req.Data.Type != "timeseries_request" || a.From >= a.To || a.Interval <= 0 || len(a.Queries) == 0 || len(a.Formulas) != len(a.Queries) {
		rc.t.Errorf("request %+v", req)
	}
	rc.bodies = append(rc.bodies, req)
	if rc.status != nil && rc.status(w) {
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
		for _, s := range rc.answer(q.Query, from, to) {
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

func newSource(t *testing.T, rc *receiver, queries map[string]string, logs *bytes.Buffer) *Source {
	t.Helper()
	s, err := New(map[string]Config{"checkout": {APIURL: rc.srv.URL, APIKey: apiKey, AppKey: appKey, Queries: queries}},
		WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var countQueries = map[string]string{
	"requests":       "sum:trace.http.request.hits{service:checkout,version:{{.Version}}}.as_count()",
	"errors":         "sum:trace.http.request.errors{service:checkout,version:{{.Version}}}.as_count()",
	"latency_p99_ms": "p99:trace.http.request.duration{service:checkout,version:{{ .Version }}}",
}

func read(s *Source, version, metric string, at time.Time) (signal.Sample, error) {
	return s.Read(context.Background(), signal.Query{Service: "checkout", Version: version, Metric: metric, Since: at.Add(-10 * time.Second), At: at})
}

// buckets of the fake backend: minute → requests, errors.
type buckets map[time.Time][2]float64

func (b buckets) answer(query string, _, _ time.Time) []map[time.Time]float64 {
	s := map[time.Time]float64{}
	for ts, v := range b {
		switch {
		case strings.HasPrefix(query, "sum:trace.http.request.hits"):
			s[ts] = v[0]
		case strings.HasPrefix(query, "sum:trace.http.request.errors"):
			s[ts] = v[1]
		default:
			s[ts] = 250 + v[1]
		}
	}
	return []map[time.Time]float64{s}
}

func TestWireFormatCountsAndEscaping(t *testing.T) {
	rc := newReceiver(t)
	b := buckets{t0.Add(-time.Minute): {100, 2}, t0: {50, 1}}
	rc.answer = b.answer
	var logs bytes.Buffer
	s := newSource(t, rc, countQueries, &logs)
	at := t0.Add(30 * time.Second)
	smp, err := read(s, "V2 beta},*", signal.ErrorRate, at)
	if err != nil {
		t.Fatal(err)
	}
	// the watch began 10s before the read: the bucket that overlaps it
	// counts, the one a minute before does not
	if got := smp.Counts[0]; got.N != 50 || got.Bad != 1 {
		t.Fatalf("counts %+v, want only the bucket inside the watch (50 requests, 1 error)", got)
	}
	if smp.Value != 3.0/150 || smp.Samples != 150 || smp.Window != 2*time.Minute {
		t.Errorf("sample %+v: want errors/requests over two intervals", smp)
	}
	q := rc.bodies[0].Data.Attributes.Queries
	if len(q) != 3 || q[2].Query != "sum:trace.http.request.hits{service:checkout,version:v2_beta___}.as_count()" {
		t.Errorf("queries sent: %+v (the version must be a normalised tag value)", q)
	}
	if lat, err := read(s, "V2 beta},*", signal.LatencyP99, at); err != nil || lat.Value != 251 || lat.Counts != nil {
		t.Errorf("latency %+v %v: the newest point, no counts", lat, err)
	}
	if rc.hits != 1 {
		t.Errorf("%d requests for two metrics in one interval, want 1", rc.hits)
	}
	// a minute later: the current bucket grew by late data and a new one
	// arrived; only the growth counts
	b[t0] = [2]float64{80, 4}
	b[t0.Add(time.Minute)] = [2]float64{10, 10}
	at2 := at.Add(time.Minute)
	smp, err = read(s, "V2 beta},*", signal.ErrorRate, at2)
	if err != nil || smp.Counts[0] != (signal.Count{N: 90, Bad: 14}) {
		t.Fatalf("second read %+v %v, want N=80+10 Bad=4+10", smp.Counts, err)
	}
	// the same data read again adds nothing
	smp, _ = read(s, "V2 beta},*", signal.ErrorRate, at2.Add(time.Minute))
	if smp.Counts[0] != (signal.Count{N: 90, Bad: 14}) {
		t.Fatalf("a re-read counted again: %+v", smp.Counts)
	}
	if strings.Contains(logs.String(), apiKey) || strings.Contains(logs.String(), appKey) {
		t.Error("a key is in the logs")
	}
	if !s.Expected("checkout", signal.ErrorRate) || s.Expected("checkout", "requests") || s.Expected("checkout", signal.LatencyP50) {
		t.Error("Expected: error_rate (from counts) and the configured metrics only")
	}
}

func TestRateLimitAndForbidden(t *testing.T) {
	rc := newReceiver(t)
	rc.answer = buckets{t0: {10, 1}, t0.Add(5 * time.Minute): {10, 1}}.answer
	limited, forbidden := true, false
	rc.status = func(w http.ResponseWriter) bool {
		switch {
		case forbidden:
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":["Forbidden"]}`)
			return true
		case limited:
			h := w.Header()
			h.Set("X-RateLimit-Limit", "1600")
			h.Set("X-RateLimit-Period", "3600")
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", "300")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"errors":["Rate limit of 1600 requests in 3600 seconds reached."]}`)
			return true
		}
		return false
	}
	s := newSource(t, rc, countQueries, &bytes.Buffer{})
	_, err := read(s, "v2", signal.ErrorRate, t0)
	if !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "429 (limit 1600 per 3600s, 0 left)") {
		t.Fatalf("429: %v", err)
	}
	limited = false
	for _, after := range []time.Duration{time.Minute, 4 * time.Minute} {
		if _, err := read(s, "v2", signal.ErrorRate, t0.Add(after)); !errors.Is(err, signal.ErrNoData) {
			t.Fatalf("within the reset: %v", err)
		}
	}
	if rc.hits != 1 {
		t.Fatalf("%d requests before X-RateLimit-Reset passed, want 1", rc.hits)
	}
	if _, err := read(s, "v2", signal.ErrorRate, t0.Add(5*time.Minute)); err != nil || rc.hits != 2 {
		t.Fatalf("after the reset: %v (%d requests)", err, rc.hits)
	}
	forbidden = true
	_, err = read(s, "v2", signal.ErrorRate, t0.Add(7*time.Minute))
	if !errors.Is(err, ErrForbidden) || !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "timeseries_query scope") {
		t.Fatalf("403: %v", err)
	}
	if strings.Contains(err.Error(), apiKey) || strings.Contains(err.Error(), appKey) {
		t.Fatal("the error shows a key")
	}
}

func TestNoData(t *testing.T) {
	rc := newReceiver(t)
	old := t0.Add(-8 * time.Minute)
	cases := map[string]func(string, time.Time, time.Time) []map[time.Time]float64{
		"no series":       func(string, time.Time, time.Time) []map[time.Time]float64 { return nil },
		"empty series":    func(string, time.Time, time.Time) []map[time.Time]float64 { return []map[time.Time]float64{{}} },
		"grouped by host": buckets{t0: {1, 1}}.answerTwice,
		"stale":           buckets{old: {1, 1}}.answer,
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			rc.answer = answer
			s := newSource(t, rc, countQueries, &bytes.Buffer{})
			for _, m := range []string{signal.ErrorRate, signal.LatencyP99} {
				if _, err := read(s, "v2", m, t0); !errors.Is(err, signal.ErrNoData) {
					t.Errorf("%s: %v", m, err)
				}
			}
		})
	}
	rc.srv.Close()
	s := newSource(t, rc, countQueries, &bytes.Buffer{})
	if _, err := read(s, "v2", signal.ErrorRate, t0); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("Datadog unreachable: %v", err)
	}
}

func (b buckets) answerTwice(q string, from, to time.Time) []map[time.Time]float64 {
	one := b.answer(q, from, to)
	return append(one, one...)
}

func TestValidate(t *testing.T) {
	const a, b = field.Secret(apiKey), field.Secret(appKey)
	ok := map[string]string{"error_rate": "sum:e{version:{{.Version}}}.as_count() / sum:r{version:{{.Version}}}.as_count()"}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{AppKey: b, Queries: ok}, "api_key: is required: set api_key_file: PATH"},
		{Config{APIKey: a, Queries: ok}, "app_key: is required"},
		{Config{APIKey: a, AppKey: b, Queries: map[string]string{"error_rate": "sum:e{*}"}}, "queries.error_rate: does not use {{.Version}}"},
		{Config{APIKey: a, AppKey: b, Queries: map[string]string{"error_rate": "sum:e{v:{{.Image}},{{.Version}}}"}}, "queries.error_rate: only {{.Version}} and {{.Service}}"},
		{Config{APIKey: a, AppKey: b, Queries: map[string]string{"requests": "sum:r{v:{{.Version}}}", "errors": "sum:e{v:{{.Version}}}.as_count()"}}, "queries.requests: must end in .as_count()"},
		{Config{APIKey: a, AppKey: b, Queries: map[string]string{"requests": "sum:r{v:{{.Version}}}.as_count()"}}, "queries: requests and errors go together"},
		{Config{APIKey: a, AppKey: b, Queries: map[string]string{"errorrate": "x{{.Version}}"}}, "queries.errorrate: unknown metric"},
		{Config{APIKey: a, AppKey: b, Queries: ok, Interval: 5 * time.Second}, "interval: 5s is faster than Datadog's finest data resolution"},
		{Config{APIKey: a, AppKey: b, Queries: ok, APIURL: "https://api.datadoghq.com/api/v2"}, "api_url: must be the site's API root"},
		{Config{APIKey: a, AppKey: b}, "queries: at least one metric query"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if err := (Config{APIKey: a, AppKey: b, Queries: ok}).Validate(); err != nil {
		t.Errorf("a good config: %v", err)
	}
	if tagValue("Release/2.1-RC1:x") != "release/2.1-rc1:x" || tagValue(`v1"} OR *`) != "v1___or__" {
		t.Errorf("tag normalisation: %q %q", tagValue("Release/2.1-RC1:x"), tagValue(`v1"} OR *`))
	}
}
