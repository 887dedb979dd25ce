// Package e2e runs the daemon in-process on :0 against real HTTP backends and
// a real SQLite file, and drives it only through its proxy and its API — what
// a user would touch.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/proxy"
)

// backend is a real HTTP server whose health a test can change while it runs.
type backend struct {
	name    string
	errPM   atomic.Int64 // errors per mille
	latency atomic.Int64 // ns added to every request
	jitter  atomic.Int64 // ns of random extra latency
	hits    atomic.Int64
	// copies counts the requests that carried the switch's shadow mark
	// (hits less copies is what users sent it); answer replaces the body.
	copies atomic.Int64
	answer atomic.Pointer[string]
	srv    *httptest.Server
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if proxy.IsShadowCopy(r.Header) {
			b.copies.Add(1)
		}
		w.Header().Set("X-Version", b.name)
		d := time.Duration(b.latency.Load())
		if j := b.jitter.Load(); j > 0 {
			d += time.Duration(rand.Int64N(j))
		}
		if d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if rand.Int64N(1000) < b.errPM.Load() {
			http.Error(w, "injected", http.StatusInternalServerError)
			return
		}
		if a := b.answer.Load(); a != nil {
			_, _ = io.WriteString(w, *a)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) failPerMille(n int64) *backend    { b.errPM.Store(n); return b }
func (b *backend) slow(d time.Duration) *backend    { b.latency.Store(int64(d)); return b }
func (b *backend) jittery(d time.Duration) *backend { b.jitter.Store(int64(d)); return b }

// env is one running daemon with its backends.
type env struct {
	t      *testing.T
	app    *app.App
	cfg    *config.Config
	client *apiclient.Client
	dbPath string
	hooks  controller.Hooks
	logger *slog.Logger
	// stateDir keeps the pointer to a generated admin token out of the
	// user's own state directory.
	stateDir string
}

// fastPolicy is the default policy with time scaled down so tests take
// seconds: the decision logic is the default's.
func fastPolicy() config.Policy {
	p := config.DefaultPolicy()
	p.Interval = 20 * time.Millisecond
	p.Window = 2 * time.Second
	p.Verify = 500 * time.Millisecond
	p.Bake = time.Minute
	p.BlindGrace = 500 * time.Millisecond
	return p
}

func ptr(v float64) *float64 { return &v }

// start runs a daemon guarding service "svc" with the given versions (oldest
// first; the last is active) and policy.
func start(t *testing.T, pol config.Policy, versions ...*backend) *env {
	t.Helper()
	return startWithHooks(t, controller.Hooks{}, pol, versions...)
}

// startWithHooks is start with test hooks set before the first boot.
func startWithHooks(t *testing.T, hooks controller.Hooks, pol config.Policy, versions ...*backend) *env {
	t.Helper()
	e := &env{t: t, hooks: hooks, dbPath: filepath.Join(t.TempDir(), "ripcord.db")}
	svc := config.Service{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Policy: pol}
	for _, b := range versions {
		svc.Versions = append(svc.Versions, config.Version{Name: b.name, URL: b.srv.URL})
	}
	svc.Active = versions[len(versions)-1].name
	e.cfg = &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + e.dbPath},
		Services: []config.Service{svc}, Reports: config.Reports{Dir: filepath.Join(t.TempDir(), "reports")}}
	e.boot()
	return e
}

func (e *env) boot() {
	e.t.Helper()
	if e.stateDir == "" {
		e.stateDir = e.t.TempDir()
	}
	a, err := app.New(context.Background(), e.cfg, app.Options{Hooks: e.hooks, Logger: e.logger, StateDir: e.stateDir})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.app = a
	tok := e.token()
	if tok == "" {
		tok, _ = a.LocalToken() // no api.tokens: the daemon generated one
	}
	e.client = apiclient.New("http://"+a.APIAddr(), tok)
	e.t.Cleanup(e.stop)
}

func (e *env) token() string {
	for _, tk := range e.cfg.API.Tokens {
		if tk.Role == config.RoleAdmin {
			return tk.Value
		}
	}
	return ""
}

func (e *env) stop() {
	if e.app == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.app.Stop(ctx)
	e.app = nil
}

// load sends rate req/s through the proxy until the returned stop is called.
// It returns counts of requests and of failures seen by clients.
func (e *env) load(rate int) (stop func() (total, failed int64)) {
	var total, failed atomic.Int64
	end := openLoop("http://"+e.app.ProxyAddr("svc")+"/", rate, func(resp *http.Response, err error) {
		total.Add(1)
		if err != nil || resp.StatusCode >= 500 {
			failed.Add(1)
		}
	})
	return func() (int64, int64) {
		end()
		return total.Load(), failed.Load()
	}
}

// openLoop sends GET url at rate req/s, each request on its own whatever
// the others do (open loop, as users arrive), and hands each answer to
// seen after its body was read (resp is nil when err is not). stop ends
// the load and waits for the requests in flight.
func openLoop(url string, rate int, seen func(resp *http.Response, err error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
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
			wg.Go(func() {
				resp, err := client.Get(url)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				seen(resp, err)
			})
		}
	})
	return func() { cancel(); wg.Wait(); client.CloseIdleConnections() }
}

func (e *env) deploy(b *backend) {
	e.t.Helper()
	if _, err := e.client.Deploy(context.Background(), "svc", b.name, b.srv.URL); err != nil {
		e.t.Fatalf("deploy %s: %v", b.name, err)
	}
}

func (e *env) status() controller.Status {
	e.t.Helper()
	s, err := e.client.Service(context.Background(), "svc")
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// waitFor polls the service status until cond holds or the timeout passes.
func (e *env) waitFor(what string, timeout time.Duration, cond func(controller.Status) bool) controller.Status {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := e.status()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s; status: %+v", timeout, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// judged waits until the controller has published n verdicts newer than
// the one shown at the call: whatever it was going to do about the traffic
// served so far, it has had the chance to. Negative assertions ("it did not
// roll back") come after this, never after a sleep.
func (e *env) judged(n int) statusT {
	e.t.Helper()
	last := e.status().VerdictAt
	for range n {
		s := e.waitFor("a fresh verdict", 10*time.Second, func(s statusT) bool { return s.VerdictAt.After(last) })
		last = s.VerdictAt
	}
	return e.status()
}

// served waits until b has answered n more requests than it had at the call.
func (e *env) served(b *backend, n int64) {
	e.t.Helper()
	want := b.hits.Load() + n
	deadline := time.Now().Add(30 * time.Second)
	for b.hits.Load() < want {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s served %d requests, waited for %d", b.name, b.hits.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitIncident polls the service's incidents until one matches.
func (e *env) waitIncident(what string, timeout time.Duration, match func(incident.Incident) bool) incident.Incident {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, i := range e.incidents() {
			if match(i) {
				return e.incident(i.ID)
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s; incidents: %+v", timeout, what, e.incidents())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) incidents() []incident.Incident {
	e.t.Helper()
	incs, err := e.client.Incidents(context.Background(), "svc", false)
	if err != nil {
		e.t.Fatal(err)
	}
	return incs
}

func (e *env) incident(id string) incident.Incident {
	e.t.Helper()
	inc, err := e.client.Incident(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func hasEvent(inc incident.Incident, typ string) bool {
	for _, ev := range inc.Events {
		if ev.Type == typ {
			return true
		}
	}
	return false
}

type statusT = controller.Status

func active(v string) func(controller.Status) bool {
	return func(s controller.Status) bool { return s.Active == v }
}

func stateIs(st controller.State) func(controller.Status) bool {
	return func(s controller.Status) bool { return s.State == st }
}
