package probe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
)

// chatBackend is a version of a small chat service. answer is what it says
// 2+2 is; delay slows every answer down.
func chatBackend(t *testing.T, answer string, tokens int, delay time.Duration) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), "2+2") || r.URL.Query().Get("stream") != "false" {
			http.Error(w, "bad probe request", http.StatusBadRequest)
			return
		}
		time.Sleep(delay)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "cmpl-1", "object": "completion", "model": "chat-7b",
			"choices": []any{map[string]any{"text": "2+2=" + answer}},
			"usage":   map[string]any{"total_tokens": tokens},
		})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"ok": true, "tags": ["a", "b"], "limits": {"rps": 50, "burst": 1.5}}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// clock is a settable clock for result timestamps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newProber(t *testing.T, versions map[string]string, c *clock) *Prober {
	t.Helper()
	probes, err := Load("testdata/chat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return New("chat", Config{File: "testdata/chat.yaml", Window: time.Minute, Timeout: 2 * time.Second}, probes,
		func() map[string]string { return versions }, WithClock(c.now), WithLogger(slog.New(slog.DiscardHandler)))
}

func read(t *testing.T, p *Prober, version string, at time.Time) (signal.Sample, error) {
	t.Helper()
	return p.Read(context.Background(), signal.Query{Service: "chat", Version: version, Metric: signal.QualityScore,
		Since: at.Add(-time.Hour), At: at})
}

func TestGoodVersionScoresOne(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	good := chatBackend(t, "4", 12, 0)
	p := newProber(t, map[string]string{"v1": good.URL + "/"}, c)
	for range 3 {
		for _, r := range p.Round(context.Background()) {
			if !r.Passed() {
				t.Fatalf("probe %d (%s) failed: %v", r.Probe, r.Name, r.Failures)
			}
		}
		c.add(10 * time.Second)
	}
	s, err := read(t, p, "v1", c.now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Value != 1 || s.Samples != 6 || s.Window != 30*time.Second {
		t.Errorf("got %+v, want score 1 over 6 results spanning 30s", s)
	}
}

func TestWrongJSONScoresBelowOneAndNamesExpectation(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	good := chatBackend(t, "4", 12, 0)
	wrong := chatBackend(t, "5", 9999, 0)
	p := newProber(t, map[string]string{"v1": good.URL, "v2": wrong.URL}, c)
	results := p.Round(context.Background())
	if len(results) != 4 || results[0].Version != "v1" || results[2].Version != "v2" {
		t.Fatalf("results not ordered by version and probe: %+v", results)
	}
	fails := strings.Join(results[2].Failures, "\n")
	for _, want := range []string{
		`json choices[0].text contains: "2+2=5" does not contain "4"`,
		`json usage.total_tokens range: got 9999, want [1, 400]`,
	} {
		if !strings.Contains(fails, want) {
			t.Errorf("v2 arithmetic failures lack %q:\n%s", want, fails)
		}
	}
	if !results[3].Passed() {
		t.Errorf("v2 health probe should pass: %v", results[3].Failures)
	}
	s1, _ := read(t, p, "v1", c.now())
	s2, err := read(t, p, "v2", c.now())
	if err != nil || s1.Value != 1 || s2.Value != 0.5 || s2.Samples != 2 {
		t.Errorf("v1 %+v, v2 %+v %v; want 1 and 0.5 over 2", s1, s2, err)
	}
}

func TestSlowVersionFailsMaxLatency(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	slow := chatBackend(t, "4", 12, 150*time.Millisecond)
	probes, err := Parse([]byte(`probes:
  - method: POST
    path: /v1/chat?stream=false
    headers: {content-type: application/json}
    body: '{"prompt": "2+2="}'
    expect: {max_latency: 50ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := New("chat", Config{}, probes, func() map[string]string { return map[string]string{"v3": slow.URL} }, WithClock(c.now))
	r := p.Round(context.Background())
	if len(r) != 1 || r[0].Passed() || !strings.HasPrefix(r[0].Failures[0], "max_latency: took ") ||
		!strings.HasSuffix(r[0].Failures[0], "want <= 50ms") {
		t.Fatalf("slow version: %+v", r)
	}
	if r[0].Latency < 150*time.Millisecond || r[0].Status != 200 {
		t.Errorf("latency %v status %d", r[0].Latency, r[0].Status)
	}
}

func TestUnreachableAndTimedOutVersionsFail(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	hung := chatBackend(t, "4", 12, 500*time.Millisecond)
	probes, _ := Parse([]byte("probes:\n  - {method: POST, path: /v1/chat?stream=false, headers: {Content-Type: application/json}, body: '2+2'}\n"))
	p := New("chat", Config{Timeout: 100 * time.Millisecond}, probes,
		func() map[string]string { return map[string]string{"dead": dead.URL, "hung": hung.URL} }, WithClock(c.now))
	r := p.Round(context.Background())
	if len(r) != 2 || !strings.Contains(r[0].Failures[0], "connection refused") ||
		r[1].Failures[0] != "request: no answer within the 100ms probe timeout" {
		t.Fatalf("got %+v", r)
	}
	if s, err := read(t, p, "dead", c.now()); err != nil || s.Value != 0 || s.Samples != 1 {
		t.Errorf("dead version: %+v %v, want score 0", s, err)
	}
}

func TestWindowAndNoData(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	versions := map[string]string{"v1": chatBackend(t, "5", 12, 0).URL} // fails arithmetic
	p := newProber(t, versions, c)
	p.Round(context.Background()) // t0: 1 of 2 pass
	versions["v1"] = chatBackend(t, "4", 12, 0).URL
	c.add(45 * time.Second)
	p.Round(context.Background()) // t0+45s: 2 of 2
	s, _ := read(t, p, "v1", c.now())
	if s.Value != 0.75 || s.Samples != 4 {
		t.Errorf("both rounds in the window: %+v", s)
	}
	c.add(30 * time.Second) // t0 falls out of the 1m window
	s, _ = read(t, p, "v1", c.now())
	if s.Value != 1 || s.Samples != 2 {
		t.Errorf("only the second round in the window: %+v", s)
	}
	// Since later than the window start narrows it further.
	q := signal.Query{Service: "chat", Version: "v1", Metric: signal.QualityScore, Since: c.now().Add(-10 * time.Second), At: c.now()}
	if _, err := p.Read(context.Background(), q); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("no results since Since: %v", err)
	}
	if _, err := read(t, p, "v9", c.now()); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("never probed version: %v", err)
	}
	c.add(time.Hour)
	p.Round(context.Background())
	if got := p.Results("v1", time.Time{}, c.now().Add(-time.Minute)); len(got) != 0 {
		t.Errorf("old results kept past the window: %d", len(got))
	}
}

func TestExpected(t *testing.T) {
	p := newProber(t, nil, &clock{})
	empty := New("other", Config{}, nil, func() map[string]string { return nil })
	for _, c := range []struct {
		p               *Prober
		service, metric string
		want            bool
	}{
		{p, "chat", signal.QualityScore, true},
		{p, "chat", signal.ErrorRate, false},
		{p, "nobody", signal.QualityScore, false},    // another service's query
		{empty, "other", signal.QualityScore, false}, // no probes configured
	} {
		if got := c.p.Expected(c.service, c.metric); got != c.want {
			t.Errorf("Expected(%s, %s) = %v", c.service, c.metric, got)
		}
	}
	if _, err := p.Read(context.Background(), signal.Query{Service: "chat", Metric: signal.ErrorRate}); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("other metric: %v", err)
	}
}

// Shutting down mid-round records nothing: a cancelled probe says nothing
// about the version.
func TestCancelledRoundRecordsNothing(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	slow := chatBackend(t, "4", 12, 500*time.Millisecond)
	p := newProber(t, map[string]string{"v1": slow.URL}, c)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r := p.Round(ctx); len(r) != 0 {
		t.Errorf("cancelled round returned %+v", r)
	}
	if _, err := read(t, p, "v1", c.now()); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("cancelled round recorded results: %v", err)
	}
}

func TestRunProbesEveryInterval(t *testing.T) {
	var mu sync.Mutex
	hits := 0
	three := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		if hits == 3 {
			close(three)
		}
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	probes, _ := Parse([]byte("probes:\n  - path: /\n"))
	p := New("svc", Config{Interval: 20 * time.Millisecond}, probes, func() map[string]string { return map[string]string{"v1": srv.URL} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	// Rounds keep coming at the interval: wait for the third, however long
	// a loaded machine takes, then stop the prober.
	select {
	case <-three:
	case err := <-done:
		t.Fatalf("Run returned %v before three rounds", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

func TestOpen(t *testing.T) {
	if _, err := Open("chat", Config{File: "testdata/chat.yaml"}, nil); err != nil {
		t.Error(err)
	}
	if _, err := Open("chat", Config{File: "testdata/nope.yaml"}, nil); err == nil || !strings.Contains(err.Error(), "service chat") {
		t.Errorf("missing file: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{File: "testdata/chat.yaml"}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("probes:\n  - path: /\n    expect: {status: nine}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"file: is required"}},
		{Config{File: "testdata/nope.yaml"}, []string{"file: probe file: open testdata/nope.yaml"}},
		{Config{File: field.File(bad)}, []string{"file: probe file " + bad}},
		{Config{File: "testdata/chat.yaml", Interval: -time.Second, Timeout: -1}, []string{"interval: must not be negative", "timeout: must not be negative"}},
	} {
		err := tc.cfg.Validate()
		var errs field.Errors
		if !errors.As(err, &errs) || len(errs) != len(tc.want) {
			t.Errorf("%+v: Validate = %v, want %d problems", tc.cfg, err, len(tc.want))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", tc.cfg, err, w)
			}
		}
	}
}
