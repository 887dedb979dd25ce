package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
	"github.com/ripcord/ripcord/internal/testenv"
)

// weird is a version name that would break a naively concatenated query.
const weird = `weird"ver\sion`

// backend is one version of an instrumented service: GET /work answers 200,
// or 500 when fail says so, and /metrics exposes http_requests_total
// {version,code} and http_request_duration_seconds{version}.
type backend struct {
	srv *httptest.Server
	n   atomic.Int64
}

func newBackend(t *testing.T, version string, fail func(i int64) bool) *backend {
	b := &backend{}
	reg := promclient.NewRegistry()
	reqs := promclient.NewCounterVec(promclient.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"version", "code"})
	dur := promclient.NewHistogramVec(promclient.HistogramOpts{Name: "http_request_duration_seconds", Help: "Latency.",
		Buckets: promclient.DefBuckets}, []string{"version"})
	reg.MustRegister(reqs, dur)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		i := b.n.Add(1)
		code := http.StatusOK
		if fail(i) {
			code = http.StatusInternalServerError
		}
		w.WriteHeader(code)
		reqs.WithLabelValues(version, fmt.Sprint(code)).Inc()
		dur.WithLabelValues(version).Observe(0.002 + float64(i%10)*0.001) // 2..11ms
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) target() string { return strings.TrimPrefix(b.srv.URL, "http://") }

// drive sends about rps requests per second to each backend until the test
// ends or two minutes pass, whichever is first.
func drive(t *testing.T, rps int, backends ...*backend) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(stop); wg.Wait() })
	client := &http.Client{Timeout: 2 * time.Second}
	for _, b := range backends {
		wg.Go(func() {
			tick := time.NewTicker(time.Second / time.Duration(rps))
			defer tick.Stop()
			limit := time.After(2 * time.Minute)
			for {
				select {
				case <-stop:
					return
				case <-limit:
					return
				case <-tick.C:
				}
				if resp, err := client.Get(b.srv.URL + "/work"); err == nil {
					resp.Body.Close()
				}
			}
		})
	}
}

func integrationConfig(url string) prometheus.Config {
	return prometheus.Config{
		URL:     url,
		Timeout: 2 * time.Second,
		Window:  10 * time.Second,
		Job:     promtest.Job,
		Samples: `sum(increase(http_requests_total{version="{{.Version}}"}[{{.Window}}]))`,
		Queries: map[string]string{
			signal.ErrorRate: `(sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[{{.Window}}])) or vector(0))
				/ sum(rate(http_requests_total{version="{{.Version}}"}[{{.Window}}]))`,
			signal.LatencyP99: `1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{.Version}}"}[{{.Window}}])))`,
		},
	}
}

func TestIntegrationRealPrometheus(t *testing.T) {
	testenv.Heavy(t, "starts a real Prometheus")
	v1 := newBackend(t, "v1", func(int64) bool { return false })
	v2 := newBackend(t, "v2", func(i int64) bool { return i%10 < 3 }) // exactly 30% 5xx
	vw := newBackend(t, weird, func(int64) bool { return false })
	drive(t, 100, v1, v2, vw)
	prom := promtest.StartPrometheus(t, []string{v1.target(), v2.target(), vw.target()}, time.Second)

	src, err := prometheus.New(map[string]prometheus.Config{"shop": integrationConfig(prom.URL)})
	if err != nil {
		t.Fatal(err)
	}
	waitForRates(t, src)

	// Prometheus dies: reads end with ErrNoData carrying the refusal, so
	// the read ended on it rather than waiting out the timeout.
	prom.Kill()
	_, err = src.Read(context.Background(), signal.Query{Service: "shop", Version: "v2", Metric: signal.ErrorRate, At: time.Now()})
	if !errors.Is(err, signal.ErrNoData) || !errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("dead Prometheus: got %v, want ErrNoData wrapping ECONNREFUSED (not a timeout)", err)
	}
	if _, err := src.LastScrape(context.Background(), "shop"); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("LastScrape on a dead Prometheus: %v", err)
	}
}

// waitForRates reads after each new scrape until every version reads as
// expected, or fails after 45s with the last readings.
func waitForRates(t *testing.T, src *prometheus.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var last time.Time
	var status string
	for scrapes := 0; ; scrapes++ {
		ts, err := src.Client("shop").WaitForScrape(ctx, promtest.Job, last, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("after %d scrapes: %v; last readings: %s", scrapes, err, status)
		}
		if !last.IsZero() && ts.Sub(last) > 3*time.Second {
			t.Errorf("scrapes %v apart, configured every 1s", ts.Sub(last))
		}
		last = ts
		var done bool
		done, status = readAll(ctx, src)
		if done && scrapes >= 3 {
			t.Logf("after %d scrapes: %s", scrapes, status)
			return
		}
	}
}

func readAll(ctx context.Context, src *prometheus.Source) (bool, string) {
	now := time.Now()
	read := func(version, metric string) (signal.Sample, error) {
		return src.Read(ctx, signal.Query{Service: "shop", Version: version, Metric: metric, Since: now.Add(-10 * time.Second), At: now})
	}
	r1, err1 := read("v1", signal.ErrorRate)
	r2, err2 := read("v2", signal.ErrorRate)
	rw, errw := read(weird, signal.ErrorRate)
	p99, errp := read("v1", signal.LatencyP99)
	status := fmt.Sprintf("v1 %+v %v; v2 %+v %v; weird %+v %v; v1 p99 %+v %v", r1, err1, r2, err2, rw, errw, p99, errp)
	if err1 != nil || err2 != nil || errw != nil || errp != nil {
		return false, status
	}
	done := r1.Value < 0.005 && r1.Samples >= 300 &&
		math.Abs(r2.Value-0.3) < 0.03 && r2.Samples >= 300 &&
		rw.Value < 0.005 && rw.Samples >= 300 &&
		p99.Value > 2 && p99.Value <= 25 && r2.Window == 10*time.Second
	return done, status
}

// A Prometheus that accepts the connection and never answers: the read ends
// at the configured timeout with ErrNoData. The server sees both queries
// ask for that timeout and sees them abandoned; the caller's own deadline,
// far later, is not what ended the read.
func TestIntegrationHangingPrometheus(t *testing.T) {
	release := make(chan struct{})
	abandoned := make(chan string, 2)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the form consumes the body, after which the server
		// notices the client hanging up.
		timeout := r.FormValue("timeout")
		select {
		case <-r.Context().Done():
			abandoned <- timeout
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	cfg := integrationConfig(hang.URL)
	cfg.Timeout = 300 * time.Millisecond
	src, err := prometheus.New(map[string]prometheus.Config{"shop": cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = src.Read(ctx, signal.Query{Service: "shop", Version: "v2", Metric: signal.ErrorRate, At: time.Now()})
	if !errors.Is(err, signal.ErrNoData) || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Errorf("hanging Prometheus: got %v (caller's context: %v), want ErrNoData wrapping the read's own DeadlineExceeded", err, ctx.Err())
	}
	for range 2 { // the metric and the samples query, side by side
		select {
		case got := <-abandoned:
			if got != "300ms" {
				t.Errorf("query sent with timeout=%q, want the configured 300ms", got)
			}
		case <-time.After(time.Minute): // a hang guard, not a speed check
			t.Fatal("the queries were not abandoned")
		}
	}
}
