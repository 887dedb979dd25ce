package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/schema"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/store"
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
	// AfterSwitch runs once the target carried out a decision (traffic
	// moved) and before anything about it is written: the incident, the
	// decision's outcome, the new state. A crash here leaves the decision
	// pending with the switch already done.
	AfterSwitch func(store.Decision)
	// AfterIncident runs once an automatic decision's incident is written
	// (opened and linked to the decision, the revert's start on it) and
	// before the decision is finished and rollback_done is written.
	AfterIncident func(store.Decision)
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
	// Trigger says when Run evaluates; nil is Every(policy.interval).
	Trigger Trigger
	// Notify is called after every incident change so delivery starts at
	// once instead of at the next poll; nil means nobody is listening.
	Notify func()
	// External: versions are deployed outside ripcord (Kubernetes) and
	// discovered; Deploy through the API is refused.
	External bool
	// Schema reads the live database schema for the schema-aware guard;
	// nil: no guard.
	Schema SchemaReader
	// Drill runs drills (drill.go): the built-in switch; nil: the
	// service cannot be drilled.
	Drill DrillRouter
}

// Wake tells the notification dispatcher there is news.
func (d Deps) Wake() {
	if d.Notify != nil {
		d.Notify()
	}
}

// Service guards one service.
type Service struct {
	cfg config.Service
	pol detect.Policy
	// shadowPol is pol for a version in shadow: with a comparison
	// configured, plus the shadow_mismatch_rate rule.
	shadowPol detect.Policy
	deps      Deps
	log       *slog.Logger

	// evalMu lets one evaluation run at a time (observe, then apply), so the
	// guard and the baseline cache need no other lock. Nothing but Tick
	// takes it.
	evalMu sync.Mutex
	series baselineCache
	// guard judges the current watch (machine generation guardGen) with
	// sequential tests; baseline is the previous version's values, read
	// once when the watch began.
	guard    *detect.Guard
	guardGen uint64
	baseline map[string]signal.Sample

	// mu guards the machine and the last verdict. It is held to run the step
	// and its effects (local store writes), never across a signal read or a
	// revert, so Status and commands never wait on a source or a target.
	mu     sync.Mutex
	m      machine
	last   detect.Result
	lastAt time.Time

	progress atomic.Pointer[string]
	// versions are the machine's version names, republished by setMachine,
	// for readers that must not take mu (KnowsVersion).
	versions atomic.Pointer[[]string]
	// ranges are the versions' declared schema ranges (guarded by mu,
	// replaced whole, never edited in place).
	ranges map[string]schema.Range
	drill  drillState
	// unfinished: a pass could not finish its decision (the store was
	// unreachable after the switch); the machine stays reverting and Run
	// completes the decision as a restart would, once the store answers.
	unfinished bool
}

// New builds a Service from its config; call Start before Run.
func New(cfg config.Service, deps Deps) *Service {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Drills = cfg.Drills.Filled(cfg.Policy)
	pol := DetectPolicy(cfg.Policy)
	return &Service{cfg: cfg, deps: deps, pol: pol, shadowPol: shadowPolicy(pol, cfg.Strategy.Shadow),
		log: deps.Logger.With("service", cfg.Name), ranges: rangesOf(cfg.Versions)}
}

// shadowPolicy adds the mismatch rule to a version in shadow's policy: a
// share of disagreeing answers above compare.max_mismatch condemns it on
// that evidence alone (critical), whatever require says.
func shadowPolicy(p detect.Policy, sh *config.Shadow) detect.Policy {
	if sh == nil || !sh.Compare.Enabled() {
		return p
	}
	limit := sh.Compare.MaxMismatch
	p.Rules = append(slices.Clone(p.Rules), detect.Rule{Metric: signal.ShadowMismatchRate, Max: &limit, Critical: &limit})
	return p
}

// policyFor is the detection policy of the watch m is in.
func (s *Service) policyFor(m machine) detect.Policy {
	if m.State == StateShadowing {
		return s.shadowPol
	}
	return s.pol
}

// DetectPolicy turns a config policy into the detector's.
func DetectPolicy(p config.Policy) detect.Policy {
	out := detect.Policy{MinSamples: p.MinSamples, Require: p.Require, Confidence: p.Confidence,
		Alpha: p.Alpha, Sustain: p.Sustain, Consecutive: p.Consecutive}
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

// Start loads (or creates) the persisted state, configures the router, and
// completes any action a crash interrupted.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.deps.Now()
	st, err := s.loaded(s.deps.Store.LoadService(ctx, s.cfg.Name))
	if err != nil {
		return err
	}
	m := machineFrom(st)
	// A later generation than any before: Start runs again each time a
	// replica begins acting (config ha), and a guard of an earlier term
	// must not be taken for this one's.
	m.Name, m.Gen = s.cfg.Name, s.m.Gen+1
	if c := s.cfg.Strategy.Canary; m.State == StateCanary && (c == nil || m.Canary.Stable == "" || m.Canary.Step >= len(c.Steps)-1 ||
		findVersion(m.Versions, m.Canary.Stable) < 0) {
		// The canary's steps are gone from the config (or changed under
		// it): back to the version most users were on, never a silent
		// promotion.
		s.log.Warn("canary in progress no longer matches strategy.canary; traffic back on stable",
			"canary", m.Active, "stable", m.Canary.Stable, "step", m.Canary.Step)
		if m.Canary.Stable != "" && findVersion(m.Versions, m.Canary.Stable) >= 0 {
			m.Active = m.Canary.Stable
		}
		m.State, m.Canary = StateStable, store.Canary{}
	}
	if m.State == StateShadowing && (s.cfg.Strategy.Shadow == nil || m.Canary.Stable == "" || findVersion(m.Versions, m.Canary.Stable) < 0) {
		// strategy.shadow is gone from the config: the version never
		// served anyone, and is not promoted silently.
		s.log.Warn("shadow in progress no longer configured; traffic stays on stable", "shadow", m.Active, "stable", m.Canary.Stable)
		if m.Canary.Stable != "" && findVersion(m.Versions, m.Canary.Stable) >= 0 {
			m.Active = m.Canary.Stable
		}
		m.State, m.Canary = StateStable, store.Canary{}
	}
	m.Rollbacks = s.recentRollbacks(ctx, now)
	var boot []effect
	for _, v := range m.Versions {
		boot = append(boot, route{op: routeRegister, version: v.Name, url: v.URL, must: true})
	}
	boot = append(boot, s.bootRoutes(m)...)
	boot = append(boot, save{must: true})
	if _, err := s.exec(ctx, m, boot); err != nil {
		return err
	}
	return s.recover(ctx)
}

// loaded is the persisted state as LoadService returned it, made to fit
// the config: a service never saved starts stable on its configured
// active version, the config's versions are merged in, and an active
// version the config no longer has gives way to the configured one.
func (s *Service) loaded(st store.ServiceState, err error) (store.ServiceState, error) {
	now := s.deps.Now()
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = store.ServiceState{Name: s.cfg.Name, Active: s.cfg.Active, State: string(StateStable), WatchSince: now}
	case err != nil:
		return st, fmt.Errorf("controller: load %s: %w", s.cfg.Name, err)
	}
	if s.deps.External {
		st.Active = s.cfg.Active // the cluster knows what runs, not our last record
	}
	st.Versions = mergeVersions(s.cfg.Versions, st.Versions, now)
	if findVersion(st.Versions, st.Active) < 0 {
		st.Active = s.cfg.Active
	}
	return st, nil
}

// setMachine makes w the service's machine (s.mu held) and republishes
// its version names.
func (s *Service) setMachine(w machine) {
	s.m = w
	names := make([]string, len(w.Versions))
	for i, v := range w.Versions {
		names[i] = v.Name
	}
	s.versions.Store(&names)
}

// KnowsVersion reports whether version is one of the service's versions,
// without taking the service's lock: the OTLP receiver asks it under its
// own lock while an evaluation may hold this one and wait on the receiver,
// so it must not wait here.
func (s *Service) KnowsVersion(version string) bool {
	names := s.versions.Load()
	return names != nil && slices.Contains(*names, version)
}

// bootRoutes put the traffic where the machine says it is: on the active
// version, or for a canary in progress its step's share on the canary and
// the rest on stable.
func (s *Service) bootRoutes(m machine) []effect {
	if m.State == StateShadowing && m.Canary.Stable != "" {
		return []effect{route{op: routeActivate, version: m.Canary.Stable, must: true},
			route{op: routeShadow, stable: m.Canary.Stable, version: m.Active, must: true},
			route{op: routeFallback, version: m.fallbackFor(m.Canary.Stable)}}
	}
	c := s.cfg.Strategy.Canary
	if m.State == StateCanary && c != nil && m.Canary.Stable != "" && m.Canary.Step < len(c.Steps) {
		return []effect{route{op: routeActivate, version: m.Canary.Stable, must: true},
			route{op: routeWeight, stable: m.Canary.Stable, version: m.Active, percent: c.Steps[m.Canary.Step], must: true},
			route{op: routeFallback, version: m.Canary.Stable}}
	}
	return []effect{route{op: routeActivate, version: m.Active, must: true},
		route{op: routeFallback, version: m.fallbackFor(m.Active)}}
}

// recentRollbacks reads when the service's recent automatic rollbacks were.
func (s *Service) recentRollbacks(ctx context.Context, now time.Time) []time.Time {
	incs, err := s.deps.Store.ListIncidents(ctx, store.IncidentFilter{Service: s.cfg.Name, Kind: incident.KindRollback, Limit: 100})
	if err != nil {
		s.log.Warn("counting recent rollbacks failed", "err", err)
		return nil
	}
	var out []time.Time
	for _, i := range incs {
		if now.Sub(i.CreatedAt) <= rollbackMemory {
			out = append(out, i.CreatedAt)
		}
	}
	return out
}

// recover completes what a crash interrupted. Called with s.mu held.
func (s *Service) recover(ctx context.Context) error {
	pending, err := s.deps.Store.PendingDecisions(ctx)
	if err != nil {
		return fmt.Errorf("controller: pending decisions: %w", err)
	}
	resumed := false
	for _, d := range pending {
		if d.Service != s.cfg.Name {
			continue
		}
		if drillAction(d.Action) {
			if err := s.finishInterruptedDrill(ctx, d); err != nil {
				return err
			}
			continue
		}
		if d.Action == ActionRollback && d.IncidentID == "" {
			d.IncidentID = s.adoptIncident(ctx, d)
		}
		if _, err := s.apply(ctx, recoverPending{d: d}, s.deps.Now()); err != nil {
			return err
		}
		resumed = true
	}
	if resumed || s.m.State != StateReverting {
		return nil
	}
	last, err := s.deps.Store.ListDecisions(ctx, s.cfg.Name, 1)
	if err != nil {
		return fmt.Errorf("controller: last decision: %w", err)
	}
	in := recoverReverting{}
	if len(last) == 1 {
		in.last = &last[0]
		if d := last[0]; automatic(d.Action) && d.Status == store.DecisionDone && d.IncidentID != "" {
			inc, err := s.deps.Store.GetIncident(ctx, d.IncidentID)
			if err != nil {
				return fmt.Errorf("controller: the last decision's incident: %w", err)
			}
			in.undone = !slices.ContainsFunc(inc.Events, func(e incident.Event) bool { return e.Type == incident.EvRollbackDone })
		}
	}
	_, err = s.apply(ctx, in, s.deps.Now())
	return err
}

// finishUnfinished completes a decision whose pass could not finish it
// (errUnfinished), through the same recovery a restart runs, until the
// store takes it.
func (s *Service) finishUnfinished(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.unfinished {
		return
	}
	s.unfinished = false
	if err := s.recover(ctx); err != nil {
		s.unfinished = true
		s.log.Warn("completing the unfinished decision failed; retrying", "err", err)
	}
}

// adoptIncident finds the incident an automatic rollback opened before a
// crash cut the pass between creating it and linking the decision to it
// (two writes), and links it now: without this the recovery opened a
// second incident for the one rollback, and every channel announced it
// twice. The incident is the one opened for this decision: same versions,
// detected when the decision was taken. "" when there is none.
func (s *Service) adoptIncident(ctx context.Context, d store.Decision) string {
	incs, err := s.deps.Store.ListIncidents(ctx, store.IncidentFilter{Service: s.cfg.Name, Kind: incident.KindRollback, Limit: 20})
	if err != nil {
		s.log.Warn("looking for the interrupted rollback's incident failed", "decision", d.ID, "err", err)
		return ""
	}
	for _, i := range incs {
		if i.FromVersion == d.FromVersion && i.ToVersion == d.ToVersion && i.DetectedAt.Equal(d.CreatedAt) {
			if err := s.deps.Store.LinkDecision(ctx, d.ID, i.ID); err != nil {
				s.log.Warn("linking the interrupted rollback to its incident failed", "decision", d.ID, "incident", i.ID, "err", err)
			}
			s.log.Info("interrupted rollback's incident found", "decision", d.ID, "incident", i.ID)
			return i.ID
		}
	}
	return ""
}

// Run evaluates whenever the trigger fires until ctx ends. Errors are logged
// and put on the incident timeline by the executor; the loop never stops on
// one.
func (s *Service) Run(ctx context.Context) {
	trig := s.deps.Trigger
	if trig == nil {
		trig = Every(s.cfg.Policy.Interval)
	}
	evaluate := trig(ctx)
	rec := time.NewTicker(time.Second)
	defer rec.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-evaluate:
			s.Tick(ctx)
		case <-rec.C:
			s.record(ctx, s.deps.Now())
			s.finishUnfinished(ctx)
		case <-prune.C:
			if _, err := s.deps.Store.PruneMetrics(ctx, s.deps.Now().Add(-metricRetention)); err != nil {
				s.log.Warn("pruning metrics failed", "err", err)
			}
		}
	}
}

// Tick runs one evaluation now: snapshot what to judge under the lock,
// observe the signals without it, then apply the verdict under it — unless
// the service moved on meanwhile (a deploy, a revert), in which case the
// verdict is about a version no longer being judged and is dropped.
func (s *Service) Tick(ctx context.Context) {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	s.mu.Lock()
	snap, now, ranges := s.m, s.deps.Now(), s.ranges
	s.mu.Unlock()
	if snap.State == StateReverting {
		return // an action is in flight or awaits recovery
	}
	r := s.observe(ctx, snap, now)
	var sv schemaView
	if r.Verdict == detect.Degraded && mayRevert(snap, now) {
		// Read before the step that may revert, without the lock.
		sv = s.readSchema(ctx, ranges)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m.Gen != snap.Gen {
		s.log.Debug("verdict dropped: the service moved on while it was observed", "version", snap.Active, "now", s.m.Active)
		return
	}
	s.last, s.lastAt = r, now
	s.drill.saw(r)
	s.deps.Metrics.verdict(s.cfg.Name, r.Verdict)
	_, _ = s.apply(ctx, evaluated{r: r, schema: sv}, now)
}

// observe judges the snapshot's active version: signal reads (which may
// wait up to a source's timeout) and the detector, no lock held.
func (s *Service) observe(ctx context.Context, snap machine, now time.Time) detect.Result {
	g := s.guardFor(ctx, snap)
	since := now.Add(-s.cfg.Policy.Window)
	if snap.WatchSince.After(since) {
		since = snap.WatchSince
	}
	if concurrent(snap) {
		s.canaryBaseline(ctx, snap, g, now)
	}
	ev := s.deps.Signals.observe(ctx, s.log, s.cfg.Name, snap.Active, since, now, s.policyFor(snap).Rules, g.Bounds)
	s.addBaseline(ctx, snap, ev, now)
	return g.Observe(now, ev)
}

// BoundsTracker is a router that counts, per version, the requests above
// latency bounds (the built-in switch): told which bounds a watch tests, it
// reports them in its samples' Counts.
type BoundsTracker interface {
	Track(version string, bounds map[string][]float64)
}

// guardFor returns the guard of the watch snap is in, starting a new one
// (with the previous version's baseline, and the router told which latency
// bounds to count) when the watch changed. Called with s.evalMu held.
func (s *Service) guardFor(ctx context.Context, snap machine) *detect.Guard {
	if s.guard != nil && s.guardGen == snap.Gen {
		return s.guard
	}
	pol := s.policyFor(snap)
	g := detect.NewGuard(pol, snap.WatchSince)
	s.baseline = s.readBaseline(ctx, snap)
	for m, smp := range s.baseline {
		g.SetBaseline(m, smp.Value)
	}
	if t, ok := s.deps.Router.(BoundsTracker); ok {
		bounds := map[string][]float64{}
		for _, r := range pol.Rules {
			if b := g.Bounds(r.Metric); len(b) > 0 {
				bounds[r.Metric] = b
			}
		}
		t.Track(snap.Active, bounds)
	}
	s.guard, s.guardGen = g, snap.Gen
	return g
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
