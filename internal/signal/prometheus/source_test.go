package prometheus

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/ripcord/ripcord/internal/signal"
)

const (
	errTpl     = `sum(rate(errors{version="{{.Version}}"}[{{.Window}}]))`
	samplesTpl = `sum(increase(requests{service="{{.Service}}",version="{{.Version}}"}[{{.Window}}]))`
)

var at = time.Unix(1700000000, 500_000_000)

func newSource(t *testing.T, f *fakeProm, mut func(*Config), opts ...Option) *Source {
	t.Helper()
	cfg := Config{URL: f.srv.URL, Samples: samplesTpl, Queries: map[string]string{signal.ErrorRate: errTpl}}
	if mut != nil {
		mut(&cfg)
	}
	s, err := New(map[string]Config{"checkout": cfg}, append([]Option{WithLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func query(version, metric string) signal.Query {
	return signal.Query{Service: "checkout", Version: version, Metric: metric, Since: at.Add(-time.Minute), At: at}
}

func TestReadVector(t *testing.T) {
	f := newFakeProm(t)
	f.on(`sum(rate(errors{version="v2"}[1m]))`, ok(vectorJSON("0.25")))
	f.on(`sum(increase(requests{service="checkout",version="v2"}[1m]))`, ok(vectorJSON("1234.4")))
	s := newSource(t, f, nil)
	got, err := s.Read(background(), query("v2", signal.ErrorRate))
	if err != nil {
		t.Fatal(err)
	}
	want := signal.Sample{Value: 0.25, Samples: 1234, Window: time.Minute, At: at}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, r := range f.requests() {
		if r.time != "1700000000.5" {
			t.Errorf("query %q ran at time=%q, want q.At 1700000000.5", r.query, r.time)
		}
		if r.timeout != "2s" {
			t.Errorf("query %q sent timeout=%q, want the default 2s", r.query, r.timeout)
		}
	}
}

func TestReadScalarAndWindow(t *testing.T) {
	f := newFakeProm(t)
	f.on(`scalar(sum(errors{version="v1"})) / 30`, ok(scalarJSON("0.5")))
	s := newSource(t, f, func(c *Config) {
		c.Window = 30 * time.Second
		c.Queries = map[string]string{signal.ErrorRate: `scalar(sum(errors{version="{{.Version}}"})) / 30`}
	})
	got, err := s.Read(background(), query("v1", signal.ErrorRate))
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != 0.5 || got.Samples != 0 || got.Window != 30*time.Second {
		t.Errorf("got %+v, want 0.5 with 0 samples (the samples query has no answer) over 30s", got)
	}
}

// Every non-answer is ErrNoData, with its cause in the chain.
func TestReadNonAnswersAreNoData(t *testing.T) {
	cases := []struct {
		name  string
		a     answer
		cause string
	}{
		{"empty vector", ok(vectorJSON()), "empty result"},
		{"NaN", ok(vectorJSON("NaN")), "NaN"},
		{"+Inf", ok(vectorJSON("+Inf")), "+Inf"},
		{"-Inf scalar", ok(scalarJSON("-Inf")), "-Inf"},
		{"two series", ok(vectorJSON("0.1", "0.2")), "2 series"},
		{"matrix", ok(`{"status":"success","data":{"resultType":"matrix","result":[]}}`), "matrix"},
		{"422 execution error", answer{status: 422, body: errorJSON("execution", "many-to-many matching")}, "many-to-many"},
		{"400 bad query", answer{status: 400, body: errorJSON("bad_data", "parse error")}, "parse error"},
		{"503 plain text", answer{status: 503, body: "Service Unavailable"}, "503"},
		{"garbage 200", ok("<html>proxy login</html>"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeProm(t)
			f.on(`sum(rate(errors{version="v2"}[1m]))`, c.a)
			f.on(`sum(increase(requests{service="checkout",version="v2"}[1m]))`, ok(vectorJSON("100")))
			s := newSource(t, f, nil)
			_, err := s.Read(background(), query("v2", signal.ErrorRate))
			if !errors.Is(err, signal.ErrNoData) {
				t.Fatalf("got %v, want ErrNoData", err)
			}
			if !strings.Contains(err.Error(), c.cause) {
				t.Errorf("error %q does not name the cause %q", err, c.cause)
			}
		})
	}
}

func TestReadKeepsAPIErrorInChain(t *testing.T) {
	f := newFakeProm(t)
	f.on(`sum(rate(errors{version="v2"}[1m]))`, answer{status: 422, body: errorJSON("execution", "boom")})
	_, err := newSource(t, f, nil).Read(background(), query("v2", signal.ErrorRate))
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrExec {
		t.Fatalf("errors.As(*v1.Error) failed or wrong type: %v", err)
	}
}

func TestReadMissingSamplesIsZero(t *testing.T) {
	f := newFakeProm(t)
	f.on(`sum(rate(errors{version="v2"}[1m]))`, ok(vectorJSON("0.01")))
	f.on(`sum(increase(requests{service="checkout",version="v2"}[1m]))`, ok(vectorJSON()))
	got, err := newSource(t, f, nil).Read(background(), query("v2", signal.ErrorRate))
	if err != nil || got.Value != 0.01 || got.Samples != 0 {
		t.Fatalf("got %+v, %v; want value 0.01 with Samples 0", got, err)
	}
}

func TestReadTimesOutWithNoData(t *testing.T) {
	f := newFakeProm(t)
	f.on(`sum(rate(errors{version="v2"}[1m]))`, answer{hang: true})
	f.on(`sum(increase(requests{service="checkout",version="v2"}[1m]))`, answer{hang: true})
	s := newSource(t, f, func(c *Config) { c.Timeout = 150 * time.Millisecond })
	// The caller sets no deadline: a DeadlineExceeded is the read's own,
	// and both queries carried it to Prometheus as the query timeout.
	_, err := s.Read(background(), query("v2", signal.ErrorRate))
	if !errors.Is(err, signal.ErrNoData) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrNoData wrapping context.DeadlineExceeded", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("sent %+v, want the metric and the samples query", reqs)
	}
	for _, r := range reqs {
		if r.timeout != "150ms" {
			t.Errorf("query %q sent timeout=%q, want the configured 150ms", r.query, r.timeout)
		}
	}
}

func TestReadHonoursCallerCancel(t *testing.T) {
	f := newFakeProm(t)
	f.on(`sum(rate(errors{version="v2"}[1m]))`, answer{hang: true})
	s := newSource(t, f, nil)
	ctx, cancel := context.WithCancel(background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := s.Read(ctx, query("v2", signal.ErrorRate))
	if !errors.Is(err, signal.ErrNoData) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrNoData wrapping context.Canceled", err)
	}
}

func TestReadUnconfiguredMetric(t *testing.T) {
	f := newFakeProm(t)
	s := newSource(t, f, nil)
	for _, q := range []signal.Query{query("v1", signal.LatencyP99), {Service: "other", Metric: signal.ErrorRate}} {
		if _, err := s.Read(background(), q); !errors.Is(err, signal.ErrNoData) {
			t.Errorf("%+v: got %v, want ErrNoData", q, err)
		}
	}
	if len(f.requests()) != 0 {
		t.Errorf("unconfigured reads sent %d queries", len(f.requests()))
	}
}

func TestExpected(t *testing.T) {
	s := newSource(t, newFakeProm(t), nil)
	for _, c := range []struct {
		service, metric string
		want            bool
	}{
		{"checkout", signal.ErrorRate, true},
		{"checkout", signal.LatencyP99, false},
		{"checkout", "samples", false},
		{"other", signal.ErrorRate, false},
	} {
		if got := s.Expected(c.service, c.metric); got != c.want {
			t.Errorf("Expected(%s, %s) = %v", c.service, c.metric, got)
		}
	}
}

// A version name built to break out of the label value stays inside it.
func TestReadEscapesHostileValues(t *testing.T) {
	f := newFakeProm(t)
	hostile := `v2"} or vector(1) # \`
	want := `sum(rate(errors{version="v2\"} or vector(1) # \\"}[1m]))`
	f.on(want, ok(vectorJSON("0")))
	s := newSource(t, f, nil)
	if _, err := s.Read(background(), query(hostile, signal.ErrorRate)); err != nil {
		t.Fatalf("escaped query not sent as %s: %v (sent %+v)", want, err, f.requests())
	}
}

func TestReadVars(t *testing.T) {
	f := newFakeProm(t)
	f.on(`sum(rate(errors{namespace="prod",image="reg/app:2.1",pod_template_hash="7d9f"}[1m]))`, ok(vectorJSON("0.5")))
	s := newSource(t, f, func(c *Config) {
		c.Vars = map[string]string{"namespace": "prod", "image": "overridden"}
		c.Queries = map[string]string{signal.ErrorRate: `sum(rate(errors{namespace="{{.namespace}}",image="{{.image}}",pod_template_hash="{{index . "pod-template-hash"}}"}[{{.Window}}]))`}
	}, WithVars(func(service, version string) map[string]string {
		return map[string]string{"image": "reg/app:2.1", "pod-template-hash": "7d9f", "Version": "ignored"}
	}))
	if got, err := s.Read(background(), query("v2", signal.ErrorRate)); err != nil || got.Value != 0.5 {
		t.Fatalf("got %+v, %v (sent %+v)", got, err, f.requests())
	}
	// A var the VarsFunc does not provide for some version: no data.
	s = newSource(t, f, func(c *Config) {
		c.Queries = map[string]string{signal.ErrorRate: `up{image="{{.image}}"}`}
	})
	if _, err := s.Read(background(), query("v2", signal.ErrorRate)); !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "image") {
		t.Errorf("missing var: %v", err)
	}
}

// Several metrics of one version at one moment share one samples query.
func TestSamplesQueriedOncePerMoment(t *testing.T) {
	f := newFakeProm(t)
	f.on(`sum(rate(errors{version="v2"}[1m]))`, ok(vectorJSON("0.1")))
	f.on(`p99{version="v2"}`, ok(vectorJSON("250")))
	f.on(`sum(increase(requests{service="checkout",version="v2"}[1m]))`, ok(vectorJSON("500")))
	s := newSource(t, f, func(c *Config) { c.Queries[signal.LatencyP99] = `p99{version="{{.Version}}"}` })
	for _, m := range []string{signal.ErrorRate, signal.LatencyP99} {
		if got, err := s.Read(background(), query("v2", m)); err != nil || got.Samples != 500 {
			t.Fatalf("%s: %+v %v", m, got, err)
		}
	}
	n := 0
	for _, r := range f.requests() {
		if strings.HasPrefix(r.query, "sum(increase") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("samples query sent %d times, want 1", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := Config{URL: "http://127.0.0.1:9090", Samples: samplesTpl, Queries: map[string]string{"error_rate": errTpl}}
	cases := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"no url", func(c *Config) { c.URL = "" }, "service checkout: url:"},
		{"bad scheme", func(c *Config) { c.URL = "ftp://x" }, "url:"},
		{"no queries", func(c *Config) { c.Queries = nil }, "queries: at least one"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout:"},
		{"template syntax", func(c *Config) { c.Queries["error_rate"] = `up{v="{{.Version}"}` }, "queries.error_rate:"},
		{"empty query", func(c *Config) { c.Queries["error_rate"] = " " }, "queries.error_rate: empty"},
		{"unquoted var", func(c *Config) { c.Queries["error_rate"] = `up{v={{.Version}}}` }, "queries.error_rate: variable Version must be used inside double quotes"},
		{"single-quoted var", func(c *Config) { c.Queries["error_rate"] = `up{v='{{.Version}}'}` }, "variable Version"},
		{"raw-string var", func(c *Config) { c.Samples = "up{v=`{{.Service}}`}" }, "samples: variable Service"},
		{"var in comment", func(c *Config) { c.Queries["error_rate"] = "up # {{.Version}}\n" }, "variable Version"},
		{"unquoted extra var", func(c *Config) { c.Queries["error_rate"] = `up{i={{.image}}}` }, "variable image must"},
		{"unquoted index var", func(c *Config) { c.Queries["error_rate"] = `up{h={{index . "pod-template-hash"}}}` }, "variable pod-template-hash must"},
		{"reserved var", func(c *Config) { c.Vars = map[string]string{"Version": "x"} }, "vars.Version: is a reserved name"},
		{"unknown metric", func(c *Config) { c.Queries["eror_rate"] = errTpl }, `queries.eror_rate: unknown metric "eror_rate"`},
		{"same answer for every version", func(c *Config) { c.Queries["error_rate"] = `sum(rate(errors[1m]))` }, "queries.error_rate: does not use {{.Version}}"},
		{"no samples", func(c *Config) { c.Samples = "" }, "samples: is required"},
		{"negative window", func(c *Config) { c.Window = -time.Second }, "window: must not be negative"},
	}
	for _, c := range cases {
		cfg := good
		cfg.Queries = map[string]string{"error_rate": errTpl}
		c.mut(&cfg)
		_, err := New(map[string]Config{"checkout": cfg})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := New(map[string]Config{"checkout": good}); err != nil {
		t.Errorf("good config rejected: %v", err)
	}
}

func TestDoubleQuoted(t *testing.T) {
	s := `a{b="x\"y",c='z',d=` + "`w`" + `} # "c"`
	in := doubleQuoted(s)
	var got strings.Builder
	for i := range s {
		if in[i] {
			got.WriteByte(s[i])
		}
	}
	if got.String() != `x\"y` {
		t.Errorf("double-quoted bytes %q, want %q", got.String(), `x\"y`)
	}
}

func TestLastScrape(t *testing.T) {
	f := newFakeProm(t)
	f.on(`max(timestamp(up{job="check\"out"}))`, ok(vectorJSON("1700000001.25")))
	c, err := NewClient(f.srv.URL, 0, nil, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.LastScrape(background(), `check"out`)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.UnixMilli(1700000001250); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if r := f.requests(); len(r) != 1 || r[0].time != "" {
		t.Errorf("LastScrape should query at the server's now (no time param): %+v", r)
	}
	ctx, cancel := context.WithTimeout(background(), 2*time.Second)
	defer cancel()
	if ts, err := c.WaitForScrape(ctx, `check"out`, got.Add(-time.Second), 10*time.Millisecond); err != nil || !ts.Equal(got) {
		t.Errorf("WaitForScrape: %v %v", ts, err)
	}
	ctx2, cancel2 := context.WithTimeout(background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := c.WaitForScrape(ctx2, `check"out`, got, 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForScrape with no new scrape: %v", err)
	}
	f.on(`max(timestamp(up{job="gone"}))`, ok(vectorJSON()))
	if _, err := c.LastScrape(background(), "gone"); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("no up series: %v", err)
	}
	s := newSource(t, f, nil)
	if _, err := s.LastScrape(background(), "checkout"); !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "no scrape job") {
		t.Errorf("Source.LastScrape without job: %v", err)
	}
}
