package datadog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/datadog/ddtest"
)

const (
	apiKey = ddtest.APIKey
	appKey = ddtest.AppKey
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newSource(t *testing.T, rc *ddtest.Receiver, queries map[string]string, logs *bytes.Buffer) *Source {
	t.Helper()
	s, err := New(map[string]Config{"checkout": {APIURL: rc.Srv.URL, APIKey: apiKey, AppKey: appKey, Queries: queries}},
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
	rc := ddtest.New(t)
	b := buckets{t0.Add(-time.Minute): {100, 2}, t0: {50, 1}}
	rc.Answer = b.answer
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
	q := rc.Bodies[0].Data.Attributes.Queries
	if len(q) != 3 || q[2].Query != "sum:trace.http.request.hits{service:checkout,version:v2_beta___}.as_count()" {
		t.Errorf("queries sent: %+v (the version must be a normalised tag value)", q)
	}
	if lat, err := read(s, "V2 beta},*", signal.LatencyP99, at); err != nil || lat.Value != 251 || lat.Counts != nil {
		t.Errorf("latency %+v %v: the newest point, no counts", lat, err)
	}
	if rc.Hits != 1 {
		t.Errorf("%d requests for two metrics in one interval, want 1", rc.Hits)
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
	rc := ddtest.New(t)
	rc.Answer = buckets{t0: {10, 1}, t0.Add(5 * time.Minute): {10, 1}}.answer
	limited, forbidden := true, false
	rc.Status = func(w http.ResponseWriter) bool {
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
	if rc.Hits != 1 {
		t.Fatalf("%d requests before X-RateLimit-Reset passed, want 1", rc.Hits)
	}
	if _, err := read(s, "v2", signal.ErrorRate, t0.Add(5*time.Minute)); err != nil || rc.Hits != 2 {
		t.Fatalf("after the reset: %v (%d requests)", err, rc.Hits)
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
	rc := ddtest.New(t)
	old := t0.Add(-8 * time.Minute)
	cases := map[string]func(string, time.Time, time.Time) []map[time.Time]float64{
		"no series":       func(string, time.Time, time.Time) []map[time.Time]float64 { return nil },
		"empty series":    func(string, time.Time, time.Time) []map[time.Time]float64 { return []map[time.Time]float64{{}} },
		"grouped by host": buckets{t0: {1, 1}}.answerTwice,
		"stale":           buckets{old: {1, 1}}.answer,
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			rc.Answer = answer
			s := newSource(t, rc, countQueries, &bytes.Buffer{})
			for _, m := range []string{signal.ErrorRate, signal.LatencyP99} {
				if _, err := read(s, "v2", m, t0); !errors.Is(err, signal.ErrNoData) {
					t.Errorf("%s: %v", m, err)
				}
			}
		})
	}
	rc.Srv.Close()
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
