package controller_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/proxyswitch"
	"github.com/ripcord/ripcord/internal/signal/proxystats"
	"github.com/ripcord/ripcord/internal/signal/push"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// guarded builds one service with its own switch, fed with n real requests
// to a real backend, so the window the controller aggregates is full.
func guarded(tb testing.TB, st store.Store, backend, name string, n int) *controller.Service {
	tb.Helper()
	sw := proxy.New(proxy.Options{Service: name, Retention: time.Minute})
	tb.Cleanup(func() { _ = sw.Close() })
	cfg := config.Service{Name: name, Versions: []config.Version{{Name: "v1", URL: backend}}, Active: "v1", Policy: config.DefaultPolicy()}
	svc := controller.New(cfg, controller.Deps{Store: st, Target: proxyswitch.New(sw), Router: sw,
		Signals: controller.Signals{Live: proxystats.New(sw), LiveMetrics: proxystats.Metrics, Optional: push.New(time.Minute)}})
	if err := svc.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	// The first evaluation starts the watch's guard, which tells the switch
	// which latency bounds to count: requests before it are only a base.
	svc.Tick(context.Background())
	for range n {
		rec := httptest.NewRecorder()
		sw.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	}
	return svc
}

func backend(tb testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	tb.Cleanup(srv.Close)
	return srv.URL
}

func openStore(tb testing.TB) store.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "b.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// BenchmarkTick is the CPU cost of one evaluation of one service: aggregate
// the proxy's window, judge every default metric, update the streak.
func BenchmarkTick(b *testing.B) {
	svc := guarded(b, openStore(b), backend(b), "svc", 2000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		svc.Tick(ctx)
	}
	if s := svc.Status(); s.Verdict != "healthy" {
		b.Fatalf("verdict %s (%s)", s.Verdict, s.Reason)
	}
}

// BenchmarkServiceMemory reports the heap one watched service costs: its
// switch with a populated statistics window and its controller.
func BenchmarkServiceMemory(b *testing.B) {
	st, url := openStore(b), backend(b)
	heapPerService(b, 50, func(i int) *controller.Service {
		return guarded(b, st, url, fmt.Sprintf("svc-%d", i), 200)
	})
}

// BenchmarkExternalControllerMemory is the controller's share of what a
// service on external signals costs (no switch; pushed signals, which
// hold nothing until a push, stand in for Prometheus), watched and
// evaluated once. It is not the service's cost: its Prometheus source,
// gate and tallies, trigger, metrics and config are the daemon's, and
// internal/app's BenchmarkExternalServiceMemory measures them all, as
// bench/scale does.
func BenchmarkExternalControllerMemory(b *testing.B) {
	st, url := openStore(b), backend(b)
	heapPerService(b, 200, func(i int) *controller.Service {
		cfg := config.Service{Name: fmt.Sprintf("ext-%d", i), Versions: []config.Version{{Name: "v1", URL: url}}, Active: "v1", Policy: config.DefaultPolicy()}
		svc := controller.New(cfg, controller.Deps{Store: st, Target: nopTarget{}, Router: controller.NoRouter{}, External: true,
			Signals: controller.Signals{Optional: push.New(time.Minute)}})
		if err := svc.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		return svc
	})
}

// heapPerService reports the heap n services built by build cost each,
// after one evaluation of every one.
func heapPerService(b *testing.B, n int, build func(i int) *controller.Service) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		svcs := make([]*controller.Service, n)
		for i := range svcs {
			svcs[i] = build(i)
			svcs[i].Tick(context.Background())
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-bytes/service")
		runtime.KeepAlive(svcs)
	}
}

// nopTarget is a target that never moves anything (the memory benchmark
// never reverts).
type nopTarget struct{}

func (nopTarget) Status(context.Context) (revert.Status, error) { return revert.Status{}, nil }
func (nopTarget) Revert(context.Context, revert.Request) (revert.Result, error) {
	return revert.Result{}, nil
}
