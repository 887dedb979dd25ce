package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// States of the service state machine.
const (
	StateStable    = "stable"
	StateWatching  = "watching"
	StateReverting = "reverting"
	StateVerifying = "verifying"
	StateEscalated = "escalated"
)

// Router is what the controller tells the traffic path about versions,
// besides reverting (which is the revert.Target's job): which versions exist
// and where, which one is live, and which one takes retries of failed
// requests. proxy.Switch implements it.
type Router interface {
	SetVersion(name, rawURL string) error
	Activate(name string) (previous string, err error)
	SetFallback(name string)
}

// NoRouter is the Router of a service ripcord does not proxy (a Kubernetes
// Deployment): traffic moves through the revert target alone.
type NoRouter struct{}

func (NoRouter) SetVersion(string, string) error { return nil }
func (NoRouter) Activate(string) (string, error) { return "", nil }
func (NoRouter) SetFallback(string)              {}

// Hooks let tests stop the controller at the exact point a crash would.
type Hooks struct {
	// AfterDecision runs after a decision is recorded and before its action.
	// A non-nil error abandons the action as a crash would: the decision
	// stays pending for the next Start to complete.
	AfterDecision func(store.Decision) error
}

// Deps are the collaborators of a Service, wired by internal/app.
type Deps struct {
	Store   store.Store
	Target  revert.Target
	Router  Router
	Signals Signals
	Metrics *Metrics // may be nil
	Logger  *slog.Logger
	Now     func() time.Time
	Hooks   Hooks
	// Notify is called after every incident change so delivery starts at
	// once instead of at the next poll; nil means nobody is listening.
	Notify func()
	// External: versions are deployed outside ripcord (Kubernetes) and
	// discovered; Deploy through the API is refused.
	External bool
}

// Wake tells the notification dispatcher there is news.
func (d Deps) Wake() {
	if d.Notify != nil {
		d.Notify()
	}
}

// Service guards one service.
type Service struct {
	cfg  config.Service
	pol  detect.Policy
	deps Deps
	log  *slog.Logger

	mu     sync.Mutex
	st     store.ServiceState
	streak detect.Streak
	last   detect.Result
	lastAt time.Time
	// raised remembers incidents opened without an action (degraded while
	// paused, suppressed by cooldown, no older version) per version, so one
	// bad version opens one such incident, not one per tick.
	raised     map[string]string
	blindSince time.Time
	blindIncID string
	series     baselineCache
	progress   atomic.Pointer[string]
}

// New builds a Service from its config; call Start before Run.
func New(cfg config.Service, deps Deps) *Service {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		cfg: cfg, deps: deps, pol: DetectPolicy(cfg.Policy),
		log:    deps.Logger.With("service", cfg.Name),
		raised: map[string]string{},
	}
}

// DetectPolicy turns a config policy into the detector's.
func DetectPolicy(p config.Policy) detect.Policy {
	out := detect.Policy{MinSamples: p.MinSamples, Require: p.Require, Confidence: p.Confidence}
	names := make([]string, 0, len(p.Thresholds))
	for m := range p.Thresholds {
		names = append(names, m)
	}
	sort.Strings(names) // stable order: reasons read the same every time
	for _, m := range names {
		t := p.Thresholds[m]
		rule := detect.Rule{Metric: m, Max: t.Max, Min: t.Min, Critical: t.Critical, LowerIsWorse: t.LowerIsWorse(m)}
		if b := t.Baseline; b != nil {
			rule.Baseline = &detect.Baseline{MaxIncrease: b.MaxIncrease, MaxDelta: b.MaxDelta,
				MannWhitney: b.Test == "mann_whitney", Confidence: b.Confidence, Tolerance: b.Tolerance}
		}
		out.Rules = append(out.Rules, rule)
	}
	return out
}

// Name is the service name.
func (s *Service) Name() string { return s.cfg.Name }

// Start loads (or creates) the persisted state, configures the switch, and
// completes any action a crash interrupted.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.deps.Now()
	st, err := s.deps.Store.LoadService(ctx, s.cfg.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = store.ServiceState{Name: s.cfg.Name, Active: s.cfg.Active, State: StateStable, WatchSince: now}
	case err != nil:
		return fmt.Errorf("controller: load %s: %w", s.cfg.Name, err)
	}
	if s.deps.External {
		st.Active = s.cfg.Active // the cluster knows what runs, not our last record
	}
	st.Versions = mergeVersions(s.cfg.Versions, st.Versions, now)
	if findVersion(st.Versions, st.Active) < 0 {
		st.Active = s.cfg.Active
	}
	for _, v := range st.Versions {
		if err := s.deps.Router.SetVersion(v.Name, v.URL); err != nil {
			return fmt.Errorf("controller: version %s: %w", v.Name, err)
		}
	}
	if _, err := s.deps.Router.Activate(st.Active); err != nil {
		return fmt.Errorf("controller: activate %s: %w", st.Active, err)
	}
	s.st = st
	s.deps.Router.SetFallback(s.fallbackFor(st.Active))
	if err := s.save(ctx); err != nil {
		return err
	}
	return s.recover(ctx)
}

// Run evaluates every policy interval until ctx ends. Errors are logged and
// put on the incident timeline by the steps themselves; the loop never stops
// on one.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Policy.Interval)
	defer t.Stop()
	rec := time.NewTicker(time.Second)
	defer rec.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Tick(ctx)
		case <-rec.C:
			s.record(ctx, s.deps.Now())
		case <-prune.C:
			if _, err := s.deps.Store.PruneMetrics(ctx, s.deps.Now().Add(-metricRetention)); err != nil {
				s.log.Warn("pruning metrics failed", "err", err)
			}
		}
	}
}

// Tick runs one evaluation now.
func (s *Service) Tick(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.deps.Now()
	if s.st.State == StateReverting {
		return // an action is in flight or awaits recovery
	}
	since := now.Add(-s.cfg.Policy.Window)
	if s.st.WatchSince.After(since) {
		since = s.st.WatchSince
	}
	obs := s.deps.Signals.observe(ctx, s.log, s.cfg.Name, s.st.Active, since, now, s.pol.Rules)
	s.addBaseline(ctx, obs, now)
	r := detect.Evaluate(s.pol, obs)
	s.last, s.lastAt = r, now
	s.deps.Metrics.verdict(s.cfg.Name, r.Verdict)
	s.trackBlind(ctx, now, r)

	streak, act := s.streak.Step(r, s.cfg.Policy.Consecutive)
	s.streak = streak
	switch s.st.State {
	case StateWatching, StateStable:
		if s.st.State == StateWatching && now.Sub(s.st.WatchSince) >= s.cfg.Policy.Bake {
			s.st.State = StateStable
			s.log.Info("bake passed", "version", s.st.Active)
			s.saveLogged(ctx)
		}
		if act {
			s.onBad(ctx, now, r)
		}
	case StateVerifying:
		s.verify(ctx, now, r, act)
	}
}

// verify judges the version a revert moved to.
func (s *Service) verify(ctx context.Context, now time.Time, r detect.Result, act bool) {
	age := now.Sub(s.st.WatchSince)
	switch {
	case act:
		s.fallback(ctx, now, r)
	case r.Verdict == detect.Healthy && age >= s.cfg.Policy.Verify:
		s.stabilise(ctx, now, r, "verified: "+s.st.Active+" healthy for "+age.Round(time.Millisecond).String()+": "+summary(r))
	case r.Verdict != detect.Degraded && age >= 3*s.cfg.Policy.Verify:
		s.stabilise(ctx, now, r, "verification inconclusive after "+age.Round(time.Second).String()+" ("+r.Reason+"); treating "+s.st.Active+" as stable")
	}
}

func (s *Service) save(ctx context.Context) error {
	s.st.UpdatedAt = s.deps.Now()
	if err := s.deps.Store.SaveService(ctx, s.st); err != nil {
		return fmt.Errorf("controller: save %s: %w", s.cfg.Name, err)
	}
	return nil
}

func (s *Service) saveLogged(ctx context.Context) {
	if err := s.save(ctx); err != nil {
		s.log.Error("saving state failed", "err", err)
	}
}

// fallbackFor returns the newest version older than v that is not known-bad.
func (s *Service) fallbackFor(v string) string {
	i := findVersion(s.st.Versions, v)
	for j := i - 1; j >= 0; j-- {
		if !s.st.Versions[j].KnownBad {
			return s.st.Versions[j].Name
		}
	}
	return ""
}

func findVersion(vs []store.Version, name string) int {
	for i, v := range vs {
		if v.Name == name {
			return i
		}
	}
	return -1
}

// mergeVersions keeps config versions in config order with their persisted
// flags, then versions deployed through the API in the order they came.
func mergeVersions(cfg []config.Version, stored []store.Version, now time.Time) []store.Version {
	out := make([]store.Version, 0, len(cfg)+len(stored))
	for _, c := range cfg {
		v := store.Version{Name: c.Name, URL: c.URL, AddedAt: now}
		if i := findVersion(stored, c.Name); i >= 0 {
			v = stored[i]
			v.URL = c.URL
		}
		out = append(out, v)
	}
	for _, v := range stored {
		if findVersion(out, v.Name) < 0 {
			out = append(out, v)
		}
	}
	return out
}

func summary(r detect.Result) string {
	s := ""
	for _, f := range r.Findings {
		if s != "" {
			s += "; "
		}
		s += f.Text
	}
	return s
}
