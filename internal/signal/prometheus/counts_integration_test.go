package prometheus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
	"github.com/ripcord/ripcord/internal/testenv"
)

// process is an instrumented version whose counters can be lost, as a
// restarted process loses them: GET /work?code=500&ms=800 counts one
// request with that status and duration.
type process struct {
	srv *httptest.Server
	mu  sync.Mutex
	reg *promclient.Registry
	req *promclient.CounterVec
	dur *promclient.HistogramVec
}

func newProcess(t *testing.T) *process {
	p := &process{}
	p.restart()
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		reg := p.reg
		p.mu.Unlock()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		code := r.URL.Query().Get("code")
		ms, _ := strconv.ParseFloat(r.URL.Query().Get("ms"), 64)
		p.mu.Lock()
		p.req.WithLabelValues("v2", code).Inc()
		p.dur.WithLabelValues("v2").Observe(ms / 1000)
		p.mu.Unlock()
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// restart starts every counter again from zero.
func (p *process) restart() {
	reg := promclient.NewRegistry()
	req := promclient.NewCounterVec(promclient.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"version", "code"})
	dur := promclient.NewHistogramVec(promclient.HistogramOpts{Name: "http_request_duration_seconds", Help: "Latency.",
		Buckets: []float64{0.1, 0.5, 1}}, []string{"version"})
	reg.MustRegister(req, dur)
	p.mu.Lock()
	p.reg, p.req, p.dur = reg, req, dur
	p.mu.Unlock()
}

// send makes n requests, the first fail of them 500s and the first slow
// of them taking 800ms.
func (p *process) send(t *testing.T, n, fail, slow int) {
	for i := range n {
		code, ms := "200", 20
		if i < fail {
			code = "500"
		}
		if i < slow {
			ms = 800
		}
		resp, err := http.Get(fmt.Sprintf("%s/work?code=%s&ms=%d", p.srv.URL, code, ms))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// Counts mode against a real Prometheus: the evidence is exactly the
// requests made between reads — none twice, not across a restart of the
// process either — for a rate and for a histogram bound.
func TestIntegrationCounts(t *testing.T) {
	testenv.Heavy(t, "starts a real Prometheus")
	p := newProcess(t)
	prom := promtest.StartPrometheus(t, []string{strings.TrimPrefix(p.srv.URL, "http://")}, 500*time.Millisecond)
	src, err := prometheus.New(map[string]prometheus.Config{"shop": {URL: prom.URL, Job: promtest.Job,
		Counts: map[string]prometheus.Counter{
			signal.ErrorRate:  {Total: `http_requests_total{version="{{.Version}}"}`, Bad: `http_requests_total{version="{{.Version}}",code=~"5.."}`},
			signal.LatencyP99: {Histogram: `sum by (le) (http_request_duration_seconds_bucket{version="{{.Version}}"})`},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var scrape time.Time
	// settle waits for a scrape that began after the requests sent so far.
	settle := func() {
		t.Helper()
		after := time.Now()
		if scrape.After(after) {
			after = scrape
		}
		ts, err := src.Client("shop").WaitForScrape(ctx, promtest.Job, after, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		scrape = ts
	}
	read := func(metric string) (signal.Sample, error) {
		return src.Read(ctx, signal.Query{Service: "shop", Version: "v2", Metric: metric, Since: time.Now().Add(-time.Minute),
			At: time.Now(), Bounds: []float64{300}})
	}
	want := func(step string, rate, slow signal.Count) {
		t.Helper()
		r, err := read(signal.ErrorRate)
		if err != nil || r.Counts[0] != rate {
			t.Errorf("%s: error_rate counts %+v (%v), want %+v", step, r.Counts, err, rate)
		}
		l, err := read(signal.LatencyP99)
		if err != nil || l.Counts[300] != slow {
			t.Errorf("%s: latency counts %+v (%v), want %+v", step, l.Counts, err, slow)
		}
	}
	p.send(t, 50, 5, 5)
	settle()
	_, _ = read(signal.ErrorRate) // the base: requests from before ripcord looked
	_, _ = read(signal.LatencyP99)
	p.send(t, 100, 30, 10)
	settle()
	want("after 100 requests", signal.Count{N: 100, Bad: 30}, signal.Count{N: 100, Bad: 10})
	want("read again, no new scrape", signal.Count{N: 100, Bad: 30}, signal.Count{N: 100, Bad: 10})
	settle()
	want("a scrape that adds nothing", signal.Count{N: 100, Bad: 30}, signal.Count{N: 100, Bad: 10})
	p.restart()
	p.send(t, 20, 5, 5)
	settle()
	want("the process restarted", signal.Count{N: 100, Bad: 30}, signal.Count{N: 100, Bad: 10})
	p.send(t, 40, 10, 4)
	settle()
	want("after the restart", signal.Count{N: 140, Bad: 40}, signal.Count{N: 140, Bad: 14})
	if r, err := read(signal.ErrorRate); err != nil || r.Samples != 140 || r.Value != 40.0/140 {
		t.Errorf("window value %v over %d (%v), want 40/140", r.Value, r.Samples, err)
	}
}
