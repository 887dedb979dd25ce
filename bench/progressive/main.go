// Command progressive measures what a deploy strategy costs users, with the
// shipped daemon (internal/app: real switch, real SQLite, the default
// policy) in front of real HTTP backends and open-loop load from distinct
// users (each request from one of -users users, its id in X-User-Id, the
// canary's sticky key):
//
//   - blast: a version failing half its requests is deployed blue-green,
//     as a canary starting at 1 %, and shadow-then-canary; for each, the
//     requests the bad version served to users (copies are told apart by
//     the switch's X-Ripcord-Shadow mark and not counted) and how many
//     distinct users met it, median over -runs.
//
//   - ramp: a healthy canary's time from its first step (1 %) to 100 % with
//     the default steps and min_step.
//
//     go run ./bench/progressive -table blast -runs 5
//     go run ./bench/progressive -table ramp
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/proxy"
)

// backend is one version: it fails errShare of users' requests (and of
// copies) and records which users it answered.
type backend struct {
	name     string
	errShare float64
	srv      *httptest.Server
	live     atomic.Int64
	copies   atomic.Int64
	mu       sync.Mutex
	users    map[string]bool
}

func newBackend(name string, errShare float64) *backend {
	b := &backend{name: name, errShare: errShare, users: map[string]bool{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if proxy.IsShadowCopy(r.Header) {
			b.copies.Add(1)
		} else {
			b.live.Add(1)
			b.mu.Lock()
			b.users[r.Header.Get("X-User-Id")] = true
			b.mu.Unlock()
		}
		w.Header().Set("X-Version", b.name)
		if rand.Float64() < b.errShare {
			http.Error(w, "injected", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	return b
}

func (b *backend) met() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.users)
}

type daemon struct {
	app    *app.App
	client *apiclient.Client
}

func boot(dir string, st config.Strategy, v1 *backend) (*daemon, error) {
	pol := config.DefaultPolicy()
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + filepath.Join(dir, "r.db")},
		Reports: config.Reports{Dir: filepath.Join(dir, "reports")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}}, Strategy: st}}}
	cfg.ApplyDefaults()
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler), StateDir: dir})
	if err != nil {
		return nil, err
	}
	if err := a.Start(context.Background()); err != nil {
		return nil, err
	}
	tok, _ := a.LocalToken()
	return &daemon{app: a, client: apiclient.New("http://"+a.APIAddr(), tok)}, nil
}

func (d *daemon) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = d.app.Stop(ctx)
}

// load sends rate req/s from users chosen uniformly among n until stopped.
func load(url string, rate, n int) (stop func() int64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var total atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			user := "user-" + strconv.Itoa(rand.IntN(n))
			wg.Go(func() {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("X-User-Id", user)
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				total.Add(1)
			})
		}
	})
	return func() int64 { cancel(); wg.Wait(); client.CloseIdleConnections(); return total.Load() }
}

func waitFor(d *daemon, timeout time.Duration, cond func(controller.Status) bool) (controller.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, err := d.client.Service(context.Background(), "svc")
		if err == nil && cond(s) {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("timed out after %s; status %+v", timeout, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type strategy struct {
	name string
	st   func() config.Strategy
}

func canary() *config.Canary {
	return &config.Canary{Steps: config.DefaultCanarySteps, MinStep: config.DefaultCanaryMinStep, MaxStep: config.DefaultCanaryMaxStep,
		Sticky: config.Sticky{Header: "X-User-Id"}}
}

func shadow() *config.Shadow {
	s := &config.Shadow{}
	cfg := config.Config{Services: []config.Service{{Strategy: config.Strategy{Shadow: s}}}}
	cfg.ApplyDefaults()
	return cfg.Services[0].Strategy.Shadow
}

var strategies = []strategy{
	{"blue-green", func() config.Strategy { return config.Strategy{} }},
	{"canary from 1%", func() config.Strategy { return config.Strategy{Canary: canary()} }},
	{"shadow, then canary", func() config.Strategy { return config.Strategy{Shadow: shadow(), Canary: canary()} }},
}

// blastRun deploys a 50 %-error v2 and waits until it no longer serves.
func blastRun(st config.Strategy, rate, users int) (served, met int64, copies int64, took time.Duration, err error) {
	dir, _ := os.MkdirTemp("", "ripcord-progressive-")
	defer os.RemoveAll(dir)
	v1, v2 := newBackend("v1", 0), newBackend("v2", 0.5)
	defer v1.srv.Close()
	defer v2.srv.Close()
	d, err := boot(dir, st, v1)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer d.stop()
	stop := load("http://"+d.app.ProxyAddr("svc")+"/", rate, users)
	time.Sleep(time.Second) // warm: v1 serving
	start := time.Now()
	if _, err := d.client.Deploy(context.Background(), "svc", "v2", v2.srv.URL); err != nil {
		stop()
		return 0, 0, 0, 0, err
	}
	// Stopped: every user's request back on v1 (a revert has switched, a
	// canary or a shadow has ended); verification may go on after.
	_, err = waitFor(d, 2*time.Minute, func(s controller.Status) bool { return s.Active == "v1" && s.Canary == nil && s.Shadow == nil })
	took = time.Since(start)
	stop()
	return v2.live.Load(), int64(v2.met()), v2.copies.Load(), took, err
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func blast(rate, users, runs int) error {
	fmt.Printf("blast radius of a 50%%-error deploy at %d req/s, %d users, default policy, median of %d runs\n\n", rate, users, runs)
	fmt.Printf("%-22s %14s %14s %12s %12s\n", "strategy", "served to users", "users met it", "copies", "stopped in")
	for _, s := range strategies {
		var served, met, copies, took []float64
		for range runs {
			sv, m, c, t, err := blastRun(s.st(), rate, users)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			served, met, copies, took = append(served, float64(sv)), append(met, float64(m)), append(copies, float64(c)), append(took, t.Seconds())
		}
		fmt.Printf("%-22s %14.0f %14.0f %12.0f %11.2fs\n", s.name, median(served), median(met), median(copies), median(took))
	}
	return nil
}

// ramp times a healthy canary from its first step to all traffic.
func ramp(rate, users int) error {
	dir, _ := os.MkdirTemp("", "ripcord-progressive-")
	defer os.RemoveAll(dir)
	v1, v2 := newBackend("v1", 0), newBackend("v2", 0)
	defer v1.srv.Close()
	defer v2.srv.Close()
	c := canary()
	d, err := boot(dir, config.Strategy{Canary: c}, v1)
	if err != nil {
		return err
	}
	defer d.stop()
	stop := load("http://"+d.app.ProxyAddr("svc")+"/", rate, users)
	defer stop()
	time.Sleep(time.Second)
	start := time.Now()
	if _, err := d.client.Deploy(context.Background(), "svc", "v2", v2.srv.URL); err != nil {
		return err
	}
	fmt.Printf("healthy canary at %d req/s, steps %v, min_step %s, default policy\n\n", rate, c.Steps, c.MinStep)
	last := start
	for _, pct := range c.Steps[1 : len(c.Steps)-1] {
		if _, err := waitFor(d, 15*time.Minute, func(s controller.Status) bool { return s.Canary != nil && s.Canary.Percent >= pct }); err != nil {
			return err
		}
		fmt.Printf("  → %3d%% after %6.1fs (step took %5.1fs)\n", pct, time.Since(start).Seconds(), time.Since(last).Seconds())
		last = time.Now()
	}
	if _, err := waitFor(d, 15*time.Minute, func(s controller.Status) bool { return s.Active == "v2" && s.Canary == nil }); err != nil {
		return err
	}
	fmt.Printf("  → 100%% after %6.1fs (step took %5.1fs)\n", time.Since(start).Seconds(), time.Since(last).Seconds())
	return nil
}

func main() {
	table := flag.String("table", "blast", "blast | ramp")
	rate := flag.Int("rate", 200, "request rate")
	users := flag.Int("users", 1000, "distinct users the load is drawn from")
	runs := flag.Int("runs", 5, "runs per strategy (blast)")
	flag.Parse()
	var err error
	switch *table {
	case "blast":
		err = blast(*rate, *users, *runs)
	case "ramp":
		err = ramp(*rate, *users)
	default:
		err = fmt.Errorf("-table: blast or ramp")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
