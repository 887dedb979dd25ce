package prometheus_bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/signal/otlp"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
)

// otelBackend is a version instrumented with the OpenTelemetry Go SDK
// (http.server.request.duration, exported over OTLP/HTTP every interval).
type otelBackend struct {
	name string
	errs atomic.Int64 // per mille
	srv  *httptest.Server
	mp   *sdkmetric.MeterProvider
}

func newOtelBackend(t *testing.T, name, receiver string, errPM int64, every time.Duration) *otelBackend {
	exp, err := otlpmetrichttp.New(context.Background(), otlpmetrichttp.WithEndpoint(receiver), otlpmetrichttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	b := &otelBackend{name: name}
	b.errs.Store(errPM)
	b.mp = sdkmetric.NewMeterProvider(
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc"), attribute.String("service.version", name))),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(every))))
	hist, err := b.mp.Meter("bench").Float64Histogram(otlp.HTTPServerDuration, metric.WithUnit("s"))
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began, code := time.Now(), http.StatusOK
		if rand.Int64N(1000) < b.errs.Load() {
			code = http.StatusInternalServerError
		}
		w.WriteHeader(code)
		hist.Record(r.Context(), time.Since(began).Seconds(), metric.WithAttributes(attribute.Int("http.response.status_code", code)))
	}))
	t.Cleanup(b.close)
	return b
}

// close stops the backend and its exporter (idempotent), so a finished
// run's exporter does not keep sending to a daemon that is gone.
func (b *otelBackend) close() {
	b.srv.Close()
	_ = b.mp.Shutdown(context.Background())
}

// otlpDaemon is daemon's OTLP twin: error_rate only, mapped explicitly, so
// from the first read it comes from OTLP and never from the switch.
func otlpDaemon(t *testing.T, v1URL string) *app.App {
	pol := config.DefaultPolicy()
	pol.Require, pol.Consecutive = 1, 1
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptr(0.05)}}
	pol.BlindGrace = time.Minute
	m := otlp.DefaultMappings()
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"},
		Store:   config.Store{URL: "sqlite://" + filepath.Join(t.TempDir(), "b.db")},
		Signals: config.Receivers{Providers: []config.Block{config.BlockOf("otlp", otlp.Config{Listen: "127.0.0.1:0"})}},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: v1URL}},
			Signals: config.Signals{Providers: []config.Block{config.BlockOf("otlp", otlp.ServiceConfig{
				Metrics: map[string]otlp.Mapping{"error_rate": m["error_rate"]}})}}}}}
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

// oneOTLPRun: v1 exports and is healthy; v2 (30% errors) starts
// exporting at a random phase of the interval, as a pod would, and is
// deployed: the time from the deploy to the traffic switched back.
func oneOTLPRun(t *testing.T, every time.Duration) float64 {
	// v1's URL must be known before the daemon (and its receiver) start;
	// the backend's exporter is pointed at the receiver once it listens.
	var v1 *otelBackend
	proxyTo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { v1.srv.Config.Handler.ServeHTTP(w, r) }))
	defer proxyTo.Close()
	a := otlpDaemon(t, proxyTo.URL)
	defer func() { _ = a.Stop(context.Background()) }()
	v1 = newOtelBackend(t, "v1", a.OTLPAddr(), 0, every)
	defer v1.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go load(ctx, "http://"+a.ProxyAddr("svc")+"/", 200)
	svc := a.Service("svc")
	waitFor(t, "v1 healthy", 90*time.Second, func() bool { return svc.Status().Verdict == "healthy" })
	bad := newOtelBackend(t, "v2", a.OTLPAddr(), 300, every)
	defer bad.close()
	time.Sleep(time.Duration(rand.Int64N(int64(every)))) // a random export phase
	onset := time.Now()
	if err := svc.Deploy(ctx, bad.name, bad.srv.URL, "bench"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rollback", 90*time.Second, func() bool { return svc.Status().Active == "v1" })
	return switchedAt(t, a.Store()).Sub(onset).Seconds()
}

// TestOTLPRollbackSpeed: fault onset → rollback from OTLP alone with the
// SDK exporting every 1 s and every 10 s, against Prometheus scraping at
// the same intervals (rate over 4 scrapes, as TestRollbackSpeed), runs
// alternating in one process.
func TestOTLPRollbackSpeed(t *testing.T) {
	gate(t)
	runs := 10
	if n, err := strconv.Atoi(os.Getenv("RUNS")); err == nil && n > 0 {
		runs = n
	}
	for _, every := range []time.Duration{time.Second, 10 * time.Second} {
		rng := (4 * every).String()
		v1 := newBackend(t, "v1", 0)
		bad := make([]*backend, runs)
		targets := []string{host(v1.srv.URL)}
		for i := range bad {
			bad[i] = newBackend(t, fmt.Sprintf("v%d", i+2), 300)
			targets = append(targets, host(bad[i].srv.URL))
		}
		prom := promtest.StartPrometheus(t, targets, every)
		var otl, pro []float64
		for i := range runs {
			otl = append(otl, oneOTLPRun(t, every))
			pro = append(pro, oneRun(t, prom.URL, rng, v1, bad[i]))
		}
		slices.Sort(otl)
		slices.Sort(pro)
		mo, mp := otl[len(otl)/2], pro[len(pro)/2]
		fmt.Printf("every %-3s otlp: runs %d median %.2fs min %.2fs max %.2fs | prometheus rate[%s]: median %.2fs min %.2fs max %.2fs | otlp/prometheus %.2f\n",
			every, runs, mo, otl[0], otl[len(otl)-1], rng, mp, pro[0], pro[len(pro)-1], mo/mp)
	}
}
