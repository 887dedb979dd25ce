package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/push"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// clock is a fake clock: time moves only when a test says so.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// fakeRouter is the traffic path as the controller sees it: the versions it
// registered, the live one and the retry fallback.
type fakeRouter struct {
	mu          sync.Mutex
	urls        map[string]string
	active      string
	fallback    string
	activations []string
	refuseURL   string // SetVersion fails for this URL
}

var _ Router = (*fakeRouter)(nil)

func newRouter() *fakeRouter { return &fakeRouter{urls: map[string]string{}} }

func (f *fakeRouter) SetVersion(name, url string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if url == f.refuseURL {
		return fmt.Errorf("fake router: %q is not an absolute URL", url)
	}
	f.urls[name] = url
	return nil
}

func (f *fakeRouter) Activate(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.urls[name]; !ok {
		return "", fmt.Errorf("fake router: unknown version %q", name)
	}
	prev := f.active
	f.active = name
	f.activations = append(f.activations, name)
	return prev, nil
}

func (f *fakeRouter) SetFallback(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fallback = name
}

func (f *fakeRouter) live() (active, fallback string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active, f.fallback
}

// fakeTarget reverts by activating the version in the router, as the
// proxyswitch target does, and honours DryRun. With gate set, each Revert
// announces itself on started and waits for the gate to be closed or fed.
type fakeTarget struct {
	router  *fakeRouter
	mu      sync.Mutex
	reqs    []revert.Request
	fail    error
	gate    chan struct{}
	started chan revert.Request
}

var _ revert.Target = (*fakeTarget)(nil)

func (f *fakeTarget) Status(context.Context) (revert.Status, error) {
	a, _ := f.router.live()
	return revert.Status{Current: a}, nil
}

func (f *fakeTarget) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	fail, gate, started := f.fail, f.gate, f.started
	f.mu.Unlock()
	if started != nil {
		started <- req
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return revert.Result{}, ctx.Err()
		}
	}
	from, _ := f.router.live()
	res := revert.Result{From: from, To: req.To, Duration: 3 * time.Millisecond, DryRun: req.DryRun}
	if fail != nil {
		return res, fail
	}
	if !req.DryRun {
		if _, err := f.router.Activate(req.To); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (f *fakeTarget) requests() []revert.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// gatedSource blocks reads of one version until released, to hold an
// evaluation in its observe phase.
type gatedSource struct {
	OptionalSource
	version string
	entered chan struct{}
	release chan struct{}
}

func (g *gatedSource) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	if q.Version == g.version && g.release != nil {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.OptionalSource.Read(ctx, q)
}

// flakyStore is the real store with chosen methods failing.
type flakyStore struct {
	store.Store
	mu   sync.Mutex
	fail map[string]error
}

func (f *flakyStore) err(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[method]
}

func (f *flakyStore) set(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]error{}
	}
	f.fail[method] = err
}

func (f *flakyStore) SaveService(ctx context.Context, s store.ServiceState) error {
	if err := f.err("SaveService"); err != nil {
		return err
	}
	return f.Store.SaveService(ctx, s)
}

func (f *flakyStore) Decide(ctx context.Context, d store.Decision, st store.ServiceState) (int64, error) {
	if err := f.err("Decide"); err != nil {
		return 0, err
	}
	return f.Store.Decide(ctx, d, st)
}

func (f *flakyStore) CreateIncident(ctx context.Context, inc incident.Incident) (string, error) {
	if err := f.err("CreateIncident"); err != nil {
		return "", err
	}
	return f.Store.CreateIncident(ctx, inc)
}

// flaky puts a flakyStore in front of the rig's store.
func (r *rig) flaky() *flakyStore {
	f := &flakyStore{Store: r.st}
	r.st = f
	return f
}

// logBuffer collects the service's log for assertions and for failures.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is one Service on real SQLite (in memory), the real push source, a
// fake clock and the fakes above. Versions v0…vN are configured oldest
// first; the last is active.
type rig struct {
	t       *testing.T
	clk     *clock
	st      store.Store
	push    *push.Store
	signals OptionalSource
	router  *fakeRouter
	target  *fakeTarget
	cfg     config.Service
	hooks   Hooks
	logs    *logBuffer
	svc     *Service
	// errRate is what each version's traffic shows; a version missing here
	// pushes nothing (its telemetry is gone).
	errRate map[string]float64
	// extra are further metrics a version reports along with error_rate.
	extra   map[string]map[string]float64
	samples int64
	pushed  int
}

// testPolicy is the default policy judging one pushed metric, error_rate,
// with its default bounds (5% anomalous, 25% critical).
func testPolicy() config.Policy {
	p := config.DefaultPolicy()
	p.Thresholds = map[string]config.Threshold{"error_rate": p.Thresholds["error_rate"]}
	p.Interval = time.Second
	return p
}

func newRig(t *testing.T, pol config.Policy, versions ...string) *rig {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := &rig{t: t, clk: &clock{t: epoch}, st: st, push: push.New(time.Hour), router: newRouter(),
		logs: &logBuffer{}, errRate: map[string]float64{}, extra: map[string]map[string]float64{}, samples: 100}
	r.signals = r.push
	r.target = &fakeTarget{router: r.router}
	r.cfg = config.Service{Name: "svc", Policy: pol, Active: versions[len(versions)-1]}
	for _, v := range versions {
		r.cfg.Versions = append(r.cfg.Versions, config.Version{Name: v, URL: "http://" + v + ".test"})
		r.errRate[v] = 0
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", r.logs.String())
		}
	})
	return r
}

// boot builds a fresh Service on the rig's store and router (a restart
// when one ran before) and starts it.
func (r *rig) boot() *rig {
	r.t.Helper()
	r.svc = New(r.cfg, Deps{Store: r.st, Target: r.target, Router: r.router, Signals: Signals{Optional: r.signals},
		Now: r.clk.Now, Hooks: r.hooks, Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err := r.svc.Start(context.Background()); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
	return r
}

// tick moves the clock one interval, lets every version with telemetry
// report that interval's traffic, and evaluates.
func (r *rig) tick() Status {
	r.t.Helper()
	now := r.clk.Advance(r.cfg.Policy.Interval)
	r.pushed++
	for v, e := range r.errRate {
		// The count varies so consecutive verdicts rest on fresh samples.
		n := r.samples + int64(r.pushed%3)
		vals := map[string]float64{signal.ErrorRate: e}
		for m, x := range r.extra[v] {
			vals[m] = x
		}
		if err := r.push.Push("svc", v, vals, n, now); err != nil {
			r.t.Fatal(err)
		}
	}
	r.svc.Tick(context.Background())
	return r.svc.Status()
}

// until ticks until cond holds, at most n times.
func (r *rig) until(what string, n int, cond func(Status) bool) Status {
	r.t.Helper()
	for range n {
		if s := r.tick(); cond(s) {
			return s
		}
	}
	r.t.Fatalf("%s: not reached in %d ticks; status %+v", what, n, r.svc.Status())
	return Status{}
}

func inState(st State) func(Status) bool { return func(s Status) bool { return s.State == st } }

func (r *rig) incidents() []incident.Incident {
	r.t.Helper()
	incs, err := r.st.ListIncidents(context.Background(), store.IncidentFilter{Service: "svc"})
	if err != nil {
		r.t.Fatal(err)
	}
	return incs
}

func (r *rig) incident(id string) incident.Incident {
	r.t.Helper()
	inc, err := r.st.GetIncident(context.Background(), id)
	if err != nil {
		r.t.Fatalf("incident %q: %v", id, err)
	}
	return inc
}

func (r *rig) decisions() []store.Decision {
	r.t.Helper()
	ds, err := r.st.ListDecisions(context.Background(), "svc", 100)
	if err != nil {
		r.t.Fatal(err)
	}
	return ds
}

func (r *rig) deploy(version string) {
	r.t.Helper()
	if err := r.svc.Deploy(context.Background(), version, "http://"+version+".test", "ann"); err != nil {
		r.t.Fatalf("deploy %s: %v", version, err)
	}
	if _, ok := r.errRate[version]; !ok {
		r.errRate[version] = 0
	}
}

func countEvents(inc incident.Incident, typ string) int {
	n := 0
	for _, ev := range inc.Events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func (f *flakyStore) FinishDecision(ctx context.Context, id int64, status, result string, at time.Time) error {
	if err := f.err("FinishDecision"); err != nil {
		return err
	}
	return f.Store.FinishDecision(ctx, id, status, result, at)
}

func (f *flakyStore) LinkDecision(ctx context.Context, id int64, incidentID string) error {
	if err := f.err("LinkDecision"); err != nil {
		return err
	}
	return f.Store.LinkDecision(ctx, id, incidentID)
}
