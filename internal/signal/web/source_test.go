package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
)

const secret = "Bearer web-secret-5a4b3c"

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// endpoint is a real HTTP server answering per-version JSON documents and
// recording what it was asked.
type endpoint struct {
	srv   *httptest.Server
	hits  atomic.Int32
	mu    sync.Mutex
	docs  map[string]string // escaped path → body
	codes map[string]int
	paths []string
	auth  []string
	hang  chan struct{}
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{docs: map[string]string{}, codes: map[string]int{}, hang: make(chan struct{})}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		e.mu.Lock()
		e.paths = append(e.paths, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		e.auth = append(e.auth, r.Header.Get("Authorization"))
		body, code := e.docs[r.URL.EscapedPath()], e.codes[r.URL.EscapedPath()]
		e.mu.Unlock()
		if body == "hang" {
			select {
			case <-e.hang:
			case <-r.Context().Done():
			}
			return
		}
		if code != 0 {
			w.WriteHeader(code)
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(func() { close(e.hang); e.srv.Close() })
	return e
}

func (e *endpoint) set(path, body string, code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.docs[path], e.codes[path] = body, code
}

func secretFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newSource(t *testing.T, cfg Config, logs *bytes.Buffer) *Source {
	t.Helper()
	s, err := New(map[string]Config{"checkout": cfg}, WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func read(s *Source, version, metric string, at time.Time) (signal.Sample, error) {
	return s.Read(context.Background(), signal.Query{Service: "checkout", Version: version, Metric: metric, Since: at.Add(-time.Minute), At: at})
}

func TestValuesAndEscaping(t *testing.T) {
	e := newEndpoint(t)
	e.set("/api/v2/health", `{"errors": {"rate": 0.04}, "latency": [{"p99": "812.5"}], "n": 1200}`, 0)
	e.set("/api/v2%2F..%2Fadmin/health", `{"errors": {"rate": 0.5}}`, 0)
	var logs bytes.Buffer
	s := newSource(t, Config{URL: e.srv.URL + "/api/{{.Version}}/health?svc={{ .Service }}&v={{.Version}}",
		HeaderFiles: map[string]field.File{"Authorization": field.File(secretFile(t))},
		Values:      map[string]string{"error_rate": "errors.rate", "latency_p99_ms": "$.latency[0].p99", "samples": "n"}}, &logs)
	smp, err := read(s, "v2", signal.ErrorRate, t0)
	if err != nil || smp.Value != 0.04 || smp.Samples != 1200 || smp.Counts != nil {
		t.Fatalf("error_rate: %+v %v", smp, err)
	}
	if smp, err := read(s, "v2", signal.LatencyP99, t0); err != nil || smp.Value != 812.5 {
		t.Fatalf("latency from a string holding a number: %+v %v", smp, err)
	}
	if e.hits.Load() != 1 {
		t.Errorf("two metrics of one version in one interval cost %d requests, want 1", e.hits.Load())
	}
	if got := e.paths[0]; got != "/api/v2/health?svc=checkout&v=v2" || e.auth[0] != secret {
		t.Errorf("asked %s (auth from the file: %v)", got, e.auth[0] == secret)
	}
	// a version with a slash stays one path segment; in the query it is a value
	if smp, err := read(s, "v2/../admin", signal.ErrorRate, t0); err != nil || smp.Value != 0.5 {
		t.Fatalf("escaped version: %+v %v", smp, err)
	}
	if got := e.paths[1]; got != "/api/v2%2F..%2Fadmin/health?svc=checkout&v=v2%2F..%2Fadmin" {
		t.Errorf("escaped version asked as %s", got)
	}
	if !s.Expected("checkout", signal.ErrorRate) || s.Expected("checkout", signal.LatencyP50) || s.Expected("checkout", KeySamples) || s.Expected("x", signal.ErrorRate) {
		t.Error("Expected: true exactly for the configured metrics")
	}
	if strings.Contains(logs.String(), "web-secret") {
		t.Error("the secret header is in the logs")
	}
}

func TestNoData(t *testing.T) {
	e := newEndpoint(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cases := map[string]struct {
		url, body string
		code      int
	}{
		"500":            {"", `{"errors": {"rate": 0}}`, 500},
		"not json":       {"", `<html>`, 0},
		"missing":        {"", `{"errors": {}}`, 0},
		"null":           {"", `{"errors": {"rate": null}}`, 0},
		"not a number":   {"", `{"errors": {"rate": "n/a"}}`, 0},
		"an object":      {"", `{"errors": {"rate": {}}}`, 0},
		"refused":        {down.URL + "/{{.Version}}", "", 0},
		"slow (timeout)": {"", "hang", 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			u := c.url
			if u == "" {
				u = e.srv.URL + "/" + strings.ReplaceAll(name, " ", "") + "/{{.Version}}"
				e.set("/"+strings.ReplaceAll(name, " ", "")+"/v2", c.body, c.code)
			}
			s := newSource(t, Config{URL: u, Timeout: 100 * time.Millisecond, HeaderFiles: map[string]field.File{"Authorization": field.File(secretFile(t))},
				Values: map[string]string{"error_rate": "errors.rate"}}, &bytes.Buffer{})
			_, err := read(s, "v2", signal.ErrorRate, t0)
			if !errors.Is(err, signal.ErrNoData) {
				t.Fatalf("want ErrNoData, got %v", err)
			}
			if strings.Contains(err.Error(), "web-secret") {
				t.Fatalf("the error shows the secret header: %v", err)
			}
		})
	}
}

func TestIntervalAndContext(t *testing.T) {
	e := newEndpoint(t)
	e.set("/v2", `{"r": 0.1}`, 0)
	e.set("/v3", "hang", 0)
	s := newSource(t, Config{URL: e.srv.URL + "/{{.Version}}", Interval: 10 * time.Second, Timeout: time.Hour,
		Values: map[string]string{"error_rate": "r"}}, &bytes.Buffer{})
	for _, at := range []time.Duration{0, time.Second, 9 * time.Second} {
		if _, err := read(s, "v2", signal.ErrorRate, t0.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	if e.hits.Load() != 1 {
		t.Fatalf("%d requests within one interval, want 1", e.hits.Load())
	}
	_, _ = read(s, "v2", signal.ErrorRate, t0.Add(10*time.Second))
	if e.hits.Load() != 2 {
		t.Fatalf("%d requests after the interval, want 2", e.hits.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(ctx, signal.Query{Service: "checkout", Version: "v3", Metric: signal.ErrorRate, At: t0})
		done <- err
	}()
	for e.hits.Load() < 3 { // the request reached the endpoint
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, signal.ErrNoData) || !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled read: %v", err)
	}
}

// Counters: cumulative Counts from the first reading on, restarts
// handled; error_rate computed over the window when no path gives it.
func TestCounters(t *testing.T) {
	e := newEndpoint(t)
	s := newSource(t, Config{URL: e.srv.URL + "/{{.Version}}", Interval: time.Second,
		Values: map[string]string{"requests": "c.req", "errors": "c.err", "latency_p99_ms": "p99"}}, &bytes.Buffer{})
	steps := []struct {
		req, errs  int
		wantN      int64
		wantBad    float64
		wantRate   float64
		rateNoData bool
	}{
		{1000, 10, 0, 0, 0, true}, // the first reading is the base
		{1100, 30, 100, 20, 0.2, false},
		{50, 50, 150, 70, 70.0 / 150, false}, // restarted: 50 new requests, all failed
		{150, 60, 250, 80, 80.0 / 250, false},
	}
	for i, st := range steps {
		e.set("/v2", fmt.Sprintf(`{"c": {"req": %d, "err": %d}, "p99": 300}`, st.req, st.errs), 0)
		at := t0.Add(time.Duration(i) * time.Second)
		smp, err := read(s, "v2", signal.ErrorRate, at)
		if st.rateNoData {
			if !errors.Is(err, signal.ErrNoData) {
				t.Fatalf("step %d: want no data from one reading, got %+v %v", i, smp, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if c := smp.Counts[0]; c.N != st.wantN || c.Bad != st.wantBad || smp.Value != st.wantRate {
			t.Errorf("step %d: counts %+v rate %g, want N=%d Bad=%g rate %g", i, c, smp.Value, st.wantN, st.wantBad, st.wantRate)
		}
		if lat, err := read(s, "v2", signal.LatencyP99, at); err != nil || lat.Value != 300 || lat.Counts != nil || lat.Samples != st.wantN {
			t.Errorf("step %d: latency %+v %v: the value, samples = requests in the window, no counts", i, lat, err)
		}
	}
	if !s.Expected("checkout", signal.ErrorRate) {
		t.Error("error_rate from counters is expected")
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://x/health", Values: map[string]string{"error_rate": "a"}}, "url: must contain {{.Version}}"},
		{Config{URL: "http://x/{{.Version}}/{{.Image}}", Values: map[string]string{"error_rate": "a"}}, "url: only {{.Version}} and {{.Service}}"},
		{Config{URL: "ftp://x/{{.Version}}", Values: map[string]string{"error_rate": "a"}}, "url: must be an absolute http(s) URL"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{"error_rate": "a..b"}}, "values.error_rate: not a JSON path"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{"error_rate": "$x"}}, "values.error_rate: not a JSON path"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{"err_rate": "a"}}, "values.err_rate: unknown metric"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{"requests": "a"}}, "values: requests and errors go together"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{}}, "values: at least one metric"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{"error_rate": "a"}, HeaderFiles: map[string]field.File{"Authorization": field.File(filepath.Join(dir, "nope"))}},
			"header_files.Authorization: " + filepath.Join(dir, "nope") + " does not exist"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{"error_rate": "a"}, Headers: map[string]string{"Bad Header": "x"}}, "headers.Bad Header: not a valid header name"},
		{Config{URL: "http://x/{{.Version}}", Values: map[string]string{"error_rate": "a"}, Timeout: -1}, "timeout: must not be negative"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	ok := Config{URL: "https://x/{{.Version}}", Values: map[string]string{"requests": "a", "errors": "b"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("counters alone are enough: %v", err)
	}
	if d := (Config{}).WithDefaults(); d.Interval != DefaultInterval || d.Timeout != DefaultTimeout {
		t.Errorf("defaults %+v", d)
	}
}
