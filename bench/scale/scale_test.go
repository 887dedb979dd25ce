//go:build linux

// Package scale_bench measures one ripcord instance guarding a fleet:
// 10,000 services on Prometheus signals (a real Prometheus scraping a
// synthetic exporter of 10,000 services × 2 versions) and 1,000 on the
// built-in switch, in one process. It runs only with RIPCORD_BENCH=1
// (bench/scale/run.sh sets it): numbers are reported, not asserted.
package scale_bench

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert/file"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
	"github.com/ripcord/ripcord/internal/testenv"
)

func env(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func envDur(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// TestScale: see the package doc. Phases, each measured over SPAN:
// the 1,000 proxied services idle and under light traffic, then the
// 10,000 on Prometheus added (steady), one bad deploy among them, and API
// reads at 200 req/s with everything loaded.
func TestScale(t *testing.T) {
	testenv.Measurement(t, "run bench/scale/run.sh")
	nProm, nProxy := env("N_PROM", 10000), env("N_PROXY", 1000)
	scrape, span := envDur("SCRAPE", 5*time.Second), envDur("SPAN", 30*time.Second)
	light := env("LIGHT", 200)

	exp := child(t, "exporter", strconv.Itoa(nProm))
	up := child(t, "upstream")
	loader := child(t, "load")
	prom := promtest.StartPrometheus(t, []string{exp}, scrape)
	ql := newQueryLog(t, prom.URL)
	fmt.Printf("machine: %s", uptimeLine())
	fmt.Printf("setup: %d services on Prometheus (counts mode, scrape %s), %d on the built-in switch, span %s\n", nProm, scrape, nProxy, span)

	heap0, _ := mem()
	// 1,000 services on the built-in switch.
	pcfg := baseConfig(t, "proxied")
	for i := range nProxy {
		pcfg.Services = append(pcfg.Services, config.Service{Name: fmt.Sprintf("px-%04d", i), Proxy: config.Proxy{Listen: "127.0.0.1:0"},
			Policy: config.DefaultPolicy(), Active: "v1", Versions: []config.Version{{Name: "v1", URL: "http://" + up}}})
	}
	pa := startApp(t, pcfg)
	time.Sleep(5 * time.Second)
	heap1, rss1 := mem()
	idle := cores(span)
	fmt.Printf("proxied idle: %d services  cores %.3f  heap %.1f KB/service  RSS %.0f MB (%.1f KB/service over the process before)\n",
		nProxy, idle, kb(heap1-heap0)/float64(nProxy), mb(rss1), kb(rss1-rss0Start)/float64(nProxy))
	var urls []string
	for i := range nProxy {
		urls = append(urls, "http://"+pa.ProxyAddr(fmt.Sprintf("px-%04d", i))+"/")
	}
	loaded := make(chan string, 1)
	go func() { loaded <- runLoad(loader, light, span+2*time.Second, urls) }()
	time.Sleep(2 * time.Second)
	busy := cores(span)
	sent := <-loaded
	heap2, rss2 := mem()
	fmt.Printf("proxied light traffic: %d req/s over %d services (sent failed: %s)  cores %.3f  heap %.1f KB/service  RSS %.0f MB\n",
		light, nProxy, strings.TrimSpace(sent), busy, kb(heap2-heap0)/float64(nProxy), mb(rss2))

	// 10,000 services on Prometheus, external (a file target each).
	idle = cores(10 * time.Second) // the proxied services settling back to idle
	ecfg := baseConfig(t, "external")
	dir := t.TempDir()
	pol := config.DefaultPolicy()
	pol.Require, pol.Consecutive = 1, 1
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptr(0.05)}}
	for i := range nProm {
		name := serviceName(i)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("v1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ecfg.Services = append(ecfg.Services, config.Service{Name: name, Policy: pol, Active: "v1",
			Versions: []config.Version{{Name: "v1"}, {Name: "v2"}},
			Target:   config.Target{Providers: []config.Block{config.BlockOf("file", file.Config{Path: field.File(path)})}},
			Signals: config.Signals{Providers: []config.Block{config.BlockOf("prometheus", prometheus.Config{URL: ql.url, Job: promtest.Job,
				Timeout: 5 * time.Second, Counts: map[string]prometheus.Counter{"error_rate": {
					Total: `sum(http_requests_total{service="{{.Service}}",version="{{.Version}}"})`,
					Bad:   `sum(http_requests_total{service="{{.Service}}",version="{{.Version}}",code="500"}) or vector(0)`,
				}}})}}})
	}
	t0 := time.Now()
	stopProf := profile("start")
	ea := startApp(t, ecfg)
	stopProf()
	fmt.Printf("external start: %d services in %.1fs\n", nProm, time.Since(t0).Seconds())
	deadline := time.Now().Add(10 * time.Minute)
	for ea.PrometheusStats().Last < int64(nProm) {
		if time.Now().After(deadline) {
			t.Fatalf("never a batch of all %d services: %+v", nProm, ea.PrometheusStats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("first batch of all %d: %.1fs after start\n", nProm, time.Since(t0).Seconds())
	time.Sleep(2 * scrape)
	heap3, rss3 := mem()
	if f := os.Getenv("HEAPPROFILE"); f != "" { // what the external services' heap is made of
		if out, err := os.Create(f); err == nil {
			_ = pprof.WriteHeapProfile(out)
			_ = out.Close()
		}
	}
	s0, q0, p0 := ea.PrometheusStats(), ql.snapshot(), promQueries(t, prom.URL)
	stopProf = profile("steady")
	both := cores(span)
	stopProf()
	s1, q1, p1 := ea.PrometheusStats(), ql.snapshot(), promQueries(t, prom.URL)
	ext := both - idle
	evals := float64(s1.Evaluations - s0.Evaluations)
	scrapes := span.Seconds() / scrape.Seconds()
	fmt.Printf("prometheus steady: cores %.3f in all, %.3f for the %d (less the proxied idle %.3f)  evaluations %.0f/s (%.1f reads each)  CPU %.1f µs/evaluation/service\n",
		both, ext, nProm, idle, evals/span.Seconds(), float64(s1.Reads-s0.Reads)/evals, ext*span.Seconds()/evals*1e6)
	fmt.Printf("prometheus memory: heap %.1f KB/service  RSS %.0f MB in all (%.1f KB/service over the proxied)\n",
		kb(heap3-heap2)/float64(nProm), mb(rss3), kb(rss3-rss2)/float64(nProm))
	fmt.Printf("queries per scrape (%.0f scrapes): batched %.2f (members %.0f each), single-service %.2f, scrape-time %.2f; Prometheus counted %.2f /api/v1/query per scrape\n",
		scrapes, float64(q1.batched-q0.batched)/scrapes, float64(s1.Members-s0.Members)/float64(max(s1.Queries-s0.Queries, 1)),
		float64(q1.single-q0.single)/scrapes, float64(q1.watch-q0.watch)/scrapes, (p1-p0)/scrapes)

	// One bad deploy among them.
	bad := serviceName(nProm / 2)
	svc := ea.Service(bad)
	onset := time.Now()
	if resp, err := http.Post("http://"+exp+"/fault?service="+bad+"&version=v2&pm=300", "", nil); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	svc.ObservedBy(context.Background(), "bench", "v2")
	observed := time.Since(onset)
	for svc.Status().Active != "v2" {
		time.Sleep(time.Millisecond)
	}
	live, watch := time.Since(onset), svc.Status().WatchSince.Sub(onset)
	for svc.Status().Active != "v1" {
		if time.Since(onset) > 5*time.Minute {
			t.Fatalf("no revert of %s: %+v", bad, svc.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ds, err := ea.Store().ListDecisions(context.Background(), bad, 1)
	if err != nil || len(ds) == 0 {
		t.Fatalf("no decision for %s: %v", bad, err)
	}
	fmt.Printf("bad deploy: %s v2 at 30%% errors among %d  fault onset → revert %.2fs (ObservedBy returned %.2fs, v2 active %.2fs, watch since %.2fs; decision %s)\n",
		bad, nProm, ds[0].DoneAt.Sub(onset).Seconds(), observed.Seconds(), live.Seconds(), watch.Seconds(), ds[0].Reason)

	stopProf = profile("api")
	apiReads(t, ea, nProm, env("API_RATE", 200), envDur("API_SPAN", 20*time.Second))
	stopProf()
}

// profile writes a CPU profile of a phase (start, steady, api) to $PROFILE_DIR/<phase>.cpu
// and an execution trace to <phase>.trace when PROFILE_DIR is set (the
// bench's causes are found with them: go tool trace -pprof=sched or
// -pprof=sync says whether a slow request waited for a CPU or a lock);
// the returned func stops them.
func profile(phase string) func() {
	dir := os.Getenv("PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, phase+".cpu"))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return func() {}
	}
	tf, err := os.Create(filepath.Join(dir, phase+".trace"))
	if err == nil && trace.Start(tf) != nil {
		_ = tf.Close()
		tf = nil
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		if tf != nil {
			trace.Stop()
			_ = tf.Close()
		}
	}
}

var rss0Start, _ = func() (uint64, uint64) { h, r := mem(); return r, h }()

func ptr(v float64) *float64 { return &v }

func baseConfig(t *testing.T, name string) *config.Config {
	return &config.Config{API: config.API{Listen: "127.0.0.1:0"},
		Store:   config.Store{URL: "sqlite://" + filepath.Join(t.TempDir(), name+".db")},
		Reports: config.Reports{Dir: filepath.Join(t.TempDir(), "reports")}} // never into the checkout
}

func startApp(t *testing.T, cfg *config.Config) *app.App {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, app.Options{StateDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = a.Stop(ctx)
	})
	return a
}

// cores is this process's CPU seconds per second over d.
func cores(d time.Duration) float64 {
	before, t0 := cpu(), time.Now()
	time.Sleep(d)
	return (cpu() - before).Seconds() / time.Since(t0).Seconds()
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mem is the live heap after a GC and the process's resident set, bytes.
func mem() (heap, rss uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			rss = kb * 1024
		}
	}
	return m.HeapAlloc, rss
}

func kb(b uint64) float64 { return float64(int64(b)) / 1024 }
func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func uptimeLine() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("load average %s, %d CPUs\n", strings.Join(strings.Fields(string(b))[:3], " "), runtime.NumCPU())
}

func runLoad(loader string, rate int, d time.Duration, urls []string) string {
	resp, err := http.Post(fmt.Sprintf("http://%s/run?rate=%d&for=%s", loader, rate, d), "text/plain", strings.NewReader(strings.Join(urls, "\n")))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var sent, failed int64
	_, _ = fmt.Fscan(resp.Body, &sent, &failed)
	return fmt.Sprintf("%d %d", sent, failed)
}

// queryLog is a reverse proxy to Prometheus that sorts the queries ripcord
// sends: scrape-time (the watch), batched (a widened matcher), single.
type queryLog struct {
	url                    string
	mu                     sync.Mutex
	watch, batched, single int64
}

type querySnap struct{ watch, batched, single int64 }

func newQueryLog(t *testing.T, target string) *queryLog {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = stdlog.New(io.Discard, "", 0) // a query ripcord gave up on is ripcord's to report
	l := &queryLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil && r.Form.Get("query") != "" {
			q := r.Form.Get("query")
			l.mu.Lock()
			switch {
			case strings.HasPrefix(q, "timestamp(up"):
				l.watch++
			case strings.Contains(q, "=~"):
				l.batched++
			default:
				l.single++
			}
			l.mu.Unlock()
			enc := r.Form.Encode()
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
			r.URL.RawQuery = ""
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	l.url = srv.URL
	return l
}

func (l *queryLog) snapshot() querySnap {
	l.mu.Lock()
	defer l.mu.Unlock()
	return querySnap{l.watch, l.batched, l.single}
}
