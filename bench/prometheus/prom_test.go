// Package prometheus_bench measures rollback speed and telemetry-loss safety
// with a real Prometheus. It only runs when RIPCORD_BENCH=1 (bench/prometheus
// /run.sh sets it): these are measurements reported as numbers, not tests
// with timing assertions.
package prometheus_bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/netfault"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testenv"
)

func gate(t *testing.T) {
	testenv.Measurement(t, "run bench/prometheus/run.sh")
}

// backend is an instrumented version with counters pre-set to 0.
type backend struct {
	name string
	errs atomic.Int64 // per mille
	srv  *httptest.Server
}

func newBackend(t *testing.T, name string, errPM int64) *backend {
	b := &backend{name: name}
	b.errs.Store(errPM)
	reg := promclient.NewRegistry()
	reqs := promclient.NewCounterVec(promclient.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"version", "code"})
	reg.MustRegister(reqs)
	reqs.WithLabelValues(name, "200").Add(0)
	reqs.WithLabelValues(name, "500").Add(0)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		if rand.Int64N(1000) < b.errs.Load() {
			reqs.WithLabelValues(name, "500").Inc()
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		reqs.WithLabelValues(name, "200").Inc()
		_, _ = io.WriteString(w, "ok")
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

func host(u string) string { return strings.TrimPrefix(u, "http://") }

// daemon starts ripcord with Prometheus signals for error_rate only (the
// peers' tuned setup: one metric, first failure acts).
func daemon(t *testing.T, promURL, rng string, v1 *backend) *app.App {
	pol := config.DefaultPolicy()
	pol.Require, pol.Consecutive = 1, 1
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptr(0.05)}}
	pol.BlindGrace = 10 * time.Second
	q := func(code string) string {
		return `sum(rate(http_requests_total{version="{{.Version}}"` + code + `}[` + rng + `]))`
	}
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"},
		Store: config.Store{URL: "sqlite://" + filepath.Join(t.TempDir(), "b.db")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}},
			Signals: config.Signals{Providers: []config.Block{config.BlockOf("prometheus", prometheus.Config{URL: promURL, Job: promtest.Job, Timeout: time.Second,
				Queries: map[string]string{"error_rate": "(" + q(`,code=~"5.."`) + " or vector(0)) / " + q("")},
				Samples: `sum(increase(http_requests_total{version="{{.Version}}"}[` + rng + `]))`})}}}}}
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

func ptr(v float64) *float64 { return &v }

// load sends rate req/s to url until ctx ends.
func load(ctx context.Context, url string, rate int) {
	c := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for ctx.Err() == nil {
		<-tick.C
		go func() {
			if resp, err := c.Get(url); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRollbackSpeed: fault onset (deploying a version with 30% errors) →
// traffic switched, from PromQL alone, at a 1 s scrape with rate[5s] and a
// 5 s scrape with rate[20s].
func TestRollbackSpeed(t *testing.T) {
	gate(t)
	runs := 10
	if n, err := strconv.Atoi(os.Getenv("RUNS")); err == nil && n > 0 {
		runs = n
	}
	for _, sc := range []struct {
		scrape time.Duration
		rng    string
	}{{time.Second, "5s"}, {5 * time.Second, "20s"}} {
		v1 := newBackend(t, "v1", 0)
		bad := make([]*backend, runs)
		targets := []string{host(v1.srv.URL)}
		for i := range bad {
			bad[i] = newBackend(t, fmt.Sprintf("v%d", i+2), 300)
			targets = append(targets, host(bad[i].srv.URL))
		}
		prom := promtest.StartPrometheus(t, targets, sc.scrape)
		var took []float64
		for i := range runs {
			took = append(took, oneRun(t, prom.URL, sc.rng, v1, bad[i]))
		}
		slices.Sort(took)
		fmt.Printf("scrape %-3s rate[%s]: runs %d  median %.2fs  min %.2fs  max %.2fs\n", sc.scrape, sc.rng, runs,
			took[len(took)/2], took[0], took[len(took)-1])
	}
}

func oneRun(t *testing.T, promURL, rng string, v1, bad *backend) float64 {
	a := daemon(t, promURL, rng, v1)
	defer func() { _ = a.Stop(context.Background()) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go load(ctx, "http://"+a.ProxyAddr("svc")+"/", 200)
	svc := a.Service("svc")
	waitFor(t, "v1 healthy", 60*time.Second, func() bool { return svc.Status().Verdict == "healthy" })
	onset := time.Now()
	if err := svc.Deploy(ctx, bad.name, bad.srv.URL, "bench"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rollback", 60*time.Second, func() bool { return svc.Status().Active == "v1" })
	return switchedAt(t, a.Store()).Sub(onset).Seconds()
}

func switchedAt(t *testing.T, st store.Store) time.Time {
	ds, err := st.ListDecisions(context.Background(), "svc", 1)
	if err != nil || len(ds) == 0 {
		t.Fatalf("no decision: %v", err)
	}
	return ds[0].DoneAt
}

// TestTelemetryLossSoak: the new version is healthy and Prometheus is down
// half the time (alternately refusing and hanging). Counts rollbacks (must
// be 0) and blind incidents, and how long each took to open.
func TestTelemetryLossSoak(t *testing.T) {
	gate(t)
	dur := 10 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("SOAK")); err == nil {
		dur = d
	}
	v1, v2 := newBackend(t, "v1", 0), newBackend(t, "v2", 10)
	prom := promtest.StartPrometheus(t, []string{host(v1.srv.URL), host(v2.srv.URL)}, time.Second)
	fw, err := netfault.New(host(prom.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	a := daemon(t, "http://"+fw.Addr(), "5s", v1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go load(ctx, "http://"+a.ProxyAddr("svc")+"/", 200)
	svc := a.Service("svc")
	waitFor(t, "v1 healthy", 60*time.Second, func() bool { return svc.Status().Verdict == "healthy" })
	if err := svc.Deploy(ctx, "v2", v2.srv.URL, "bench"); err != nil {
		t.Fatal(err)
	}
	const period = 30 * time.Second
	var outages []time.Time
	end := time.Now().Add(dur)
	for i := 0; time.Now().Before(end); i++ {
		mode := netfault.Pass
		if i%2 == 1 {
			mode = netfault.Refuse
			if i%4 == 3 {
				mode = netfault.Hang
			}
			outages = append(outages, time.Now())
		}
		fw.Set(mode)
		time.Sleep(min(period, time.Until(end)))
	}
	fw.Set(netfault.Pass)
	incs, err := a.Store().ListIncidents(context.Background(), store.IncidentFilter{Service: "svc", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rollbacks, blind := 0, 0
	var delays []float64
	for _, inc := range incs {
		switch inc.Kind {
		case incident.KindBlind:
			blind++
			for j := len(outages) - 1; j >= 0; j-- {
				if !outages[j].After(inc.CreatedAt) {
					delays = append(delays, inc.CreatedAt.Sub(outages[j]).Seconds())
					break
				}
			}
		default:
			rollbacks++
		}
	}
	slices.Sort(delays)
	st := svc.Status()
	fmt.Printf("soak %s: outages %d, rollbacks %d, blind incidents %d, outage→blind incident median %.1fs (grace 10s), still on %s (%s)\n",
		dur, len(outages), rollbacks, blind, median(delays), st.Active, st.State)
	if rollbacks != 0 || st.Active != "v2" {
		t.Errorf("telemetry loss caused %d rollbacks (active %s)", rollbacks, st.Active)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)/2]
}
