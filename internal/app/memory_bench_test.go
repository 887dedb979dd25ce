package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert/file"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
)

// BenchmarkExternalServiceMemory is the heap one service on external
// signals costs the daemon, measured as bench/scale measures it but at a
// size that runs in a minute: services on Prometheus counts (a real
// Prometheus scraping a synthetic exporter every 5 s, as bench/scale's,
// and every 1 s, the harder case: a tally keeps a window's scrapes), each
// with a file target, through app.New and Start with a text logger at
// warn (as bench/scale) — the Prometheus source, its gate and the Hub's
// tallies, the controller, its trigger, its metrics, its config and the
// web hub's share — after every service's versions have been read in a
// batch and judged. It is the cost of one more service: a daemon of 500
// less one of 10, over the 490 (the daemon's own fixed heap, its web
// pages parsed, its store, is nobody's share; at 10,000 services
// bench/scale spreads it thin). Each heap is the least of a few readings
// after a GC, so a batched answer being decoded at that moment is not
// counted. With HEAPPROFILE=file it writes the 500's heap profile (the
// last run's), sampled finely enough to show each service's small
// allocations. It also reports the goroutines each service keeps (each
// has a stack, not in the heap).
func BenchmarkExternalServiceMemory(b *testing.B) {
	for _, scrape := range []time.Duration{5 * time.Second, time.Second} { // bench/scale's, and a short one
		b.Run("scrape="+scrape.String(), func(b *testing.B) { externalServiceMemory(b, scrape) })
	}
}

func externalServiceMemory(b *testing.B, scrape time.Duration) {
	const small, n = 10, 500
	profile := os.Getenv("HEAPPROFILE")
	if profile != "" {
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 512
	}
	exp := httptest.NewServer(memExporter(n, time.Now()))
	b.Cleanup(exp.Close)
	prom := promtest.StartPrometheus(b, []string{exp.Listener.Addr().String()}, scrape)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})) // as serve's
	for b.Loop() {
		heapS, gsS := fleet(b, prom.URL, log, small, scrape, "")
		heapN, gsN := fleet(b, prom.URL, log, n, scrape, profile)
		b.ReportMetric(float64(heapN-heapS)/(n-small), "heap-bytes/service")
		b.ReportMetric(float64(gsN-gsS)/(n-small), "goroutines/service")
	}
}

// fleet starts a daemon of n services on the Prometheus at promURL and
// returns the heap and goroutines it holds once all are judged, then
// stops it.
func fleet(b *testing.B, promURL string, log *slog.Logger, n int, scrape time.Duration, profile string) (heap int64, goroutines int) {
	dir := b.TempDir()
	heap0, gs0 := steadyHeap(), runtime.NumGoroutine()
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"},
		Store:   config.Store{URL: "sqlite://" + filepath.Join(dir, "mem.db")},
		Reports: config.Reports{Dir: filepath.Join(dir, "reports")}}
	pol := config.DefaultPolicy()
	pol.Require, pol.Consecutive = 1, 1
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: new(0.05)}}
	for i := range n {
		name := memService(i)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("v1\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		cfg.Services = append(cfg.Services, config.Service{Name: name, Policy: pol, Active: "v1",
			Versions: []config.Version{{Name: "v1"}, {Name: "v2"}},
			Target:   config.Target{Providers: []config.Block{config.BlockOf("file", file.Config{Path: field.File(path)})}},
			Signals: config.Signals{Providers: []config.Block{config.BlockOf("prometheus", prometheus.Config{URL: promURL, Job: promtest.Job,
				Timeout: 5 * time.Second, Counts: map[string]prometheus.Counter{"error_rate": {
					Total: `sum(http_requests_total{service="{{.Service}}",version="{{.Version}}"})`,
					Bad:   `sum(http_requests_total{service="{{.Service}}",version="{{.Version}}",code="500"}) or vector(0)`,
				}}})}}})
	}
	a, err := New(context.Background(), cfg, Options{StateDir: b.TempDir(), Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = a.Stop(ctx)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	judged := func(i int) bool { return a.Service(memService(i)).Status().Verdict == "healthy" }
	for a.PrometheusStats().Last < int64(n) || !allOf(n, judged) {
		if time.Now().After(deadline) {
			b.Fatalf("never a batch of all %d services judged: %+v", n, a.PrometheusStats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * scrape)
	heap1, gs1 := steadyHeap(), runtime.NumGoroutine()
	if profile != "" {
		writeHeapProfile(b, profile)
	}
	return int64(heap1) - int64(heap0), gs1 - gs0
}

// steadyHeap is the least live heap of five readings after a GC, 100 ms
// apart: what stays, without an answer in flight.
func steadyHeap() uint64 {
	least := uint64(0)
	for i := range 5 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if i == 0 || m.HeapAlloc < least {
			least = m.HeapAlloc
		}
	}
	return least
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

func allOf(n int, f func(int) bool) bool {
	for i := range n {
		if !f(i) {
			return false
		}
	}
	return true
}

func memService(i int) string { return fmt.Sprintf("svc-%05d", i) }

// memExporter serves http_requests_total{service,version,code} for n
// services × v1 and v2, every version at 10 req/s since start, none failing.
func memExporter(n int, start time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		total := strconv.FormatInt(int64(time.Since(start).Seconds()*10), 10)
		var buf bytes.Buffer
		buf.WriteString("# TYPE http_requests_total counter\n")
		for i := range n {
			for _, ver := range []string{"v1", "v2"} {
				fmt.Fprintf(&buf, "http_requests_total{service=%q,version=%q,code=\"200\"} %s\n", memService(i), ver, total)
				fmt.Fprintf(&buf, "http_requests_total{service=%q,version=%q,code=\"500\"} 0\n", memService(i), ver)
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(buf.Bytes())
	})
}
