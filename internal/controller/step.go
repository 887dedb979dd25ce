package controller

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// An input is one thing that happened to a service: an evaluation, the
// outcome of a revert, a person's command, a restart. The step turns each
// into the next machine and the effects that carry it out.
type input interface{ isInput() }

// evaluated is a verdict on the active version (internal/detect made it; the
// step only acts on it).
type evaluated struct {
	r detect.Result
	// schema is what the schema guard read before the step (zero: no
	// reader, or a verdict that reverts nothing).
	schema schemaView
}

// reverted is the target's answer to a revert effect, with the verdict
// the decision was taken on (nil after a restart).
type reverted struct {
	d       store.Decision
	res     revert.Result
	err     error
	verdict *detect.Result
	// recordErr: the store refused the decision (it was carried out
	// unrecorded); the incident opened after the switch says so.
	recordErr error
}

type (
	deployCmd struct{ version, url, actor string }
	// rollbackCmd carries the last verdict, which the decision is stored with.
	rollbackCmd struct {
		to, reason, actor string
		last              detect.Result
	}
	pauseCmd  struct{ actor string }
	resumeCmd struct{ actor string }
	// observedCmd: actor is who deployed (kubernetes, mlflow); "" is kubernetes.
	observedCmd      struct{ version, image, changeCause, actor string }
	recoverPending   struct{ d store.Decision }
	recoverReverting struct {
		last *store.Decision // nil: no decision at all
		// undone: last is an automatic rollback whose incident lacks
		// rollback_done (the crash came between finishing the decision
		// and writing it).
		undone bool
	}
)

func (evaluated) isInput()        {}
func (reverted) isInput()         {}
func (deployCmd) isInput()        {}
func (rollbackCmd) isInput()      {}
func (pauseCmd) isInput()         {}
func (resumeCmd) isInput()        {}
func (observedCmd) isInput()      {}
func (recoverPending) isInput()   {}
func (recoverReverting) isInput() {}

// Decision actions, as stored and counted in ripcord_decisions_total.
const (
	ActionRollback = "rollback"
	ActionFallback = "fallback"
	ActionManual   = "manual_rollback"
	ActionEscalate = "escalate"
	// ActionDryRun is an automatic rollback that policy.dry_run kept from
	// moving traffic: decided, recorded and announced, never carried out.
	ActionDryRun = "dry_run"
)

// frequentRollbacks in 7 days (this one included) make a rollback critical:
// one bad deploy is routine, a pattern needs a person (the seed: frequent
// rollbacks indicate instability).
const frequentRollbacks = 3

// step is the whole decision: pure, no I/O, no clock. It returns the next
// machine and the effects that make it true, in the order they must happen;
// on an error (a refused command, a transition the table forbids) it returns
// m unchanged and no effects.
func step(m machine, in input, now time.Time, pol config.Policy) (machine, []effect, error) {
	return stepWith(m, in, now, pol, nil)
}

// stepWith is step for a service with a canary strategy (nil: blue-green).
func stepWith(m machine, in input, now time.Time, pol config.Policy, canary *config.Canary) (machine, []effect, error) {
	return stepStrategy(m, in, now, pol, config.Strategy{Canary: canary})
}

// stepStrategy is step for a service with its strategy (shadow, canary).
func stepStrategy(m machine, in input, now time.Time, pol config.Policy, st config.Strategy) (machine, []effect, error) {
	p := &plan{m: m, now: now, pol: pol, canary: st.Canary, shadow: st.Shadow}
	switch in := in.(type) {
	case promoteCmd:
		p.promote(in)
	case abortCmd:
		p.abort(in)
	case weighted:
		p.canaryMoved(in)
	case evaluated:
		p.sv = in.schema
		p.evaluated(in.r)
	case reverted:
		p.reverted(in)
	case deployCmd:
		p.deploy(in.version, in.url, in.actor)
	case rollbackCmd:
		p.rollback(in)
	case pauseCmd:
		p.pause(in.actor)
	case resumeCmd:
		p.resume(in.actor)
	case observedCmd:
		p.observed(in)
	case recoverPending:
		p.recoverPending(in.d)
	case recoverReverting:
		p.recoverReverting(in.last, in.undone)
	default:
		p.fail(fmt.Errorf("controller: unknown input %T", in))
	}
	if p.err != nil {
		return m, nil, p.err
	}
	return p.m, p.fx, nil
}

// plan is the step's working state.
type plan struct {
	m      machine
	fx     []effect
	now    time.Time
	pol    config.Policy
	canary *config.Canary // strategy.canary; nil: blue-green
	shadow *config.Shadow // strategy.shadow; nil: no shadow phase
	err    error
	sv     schemaView // the live schema, as read for this step
}

func (p *plan) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *plan) do(fx ...effect) { p.fx = append(p.fx, fx...) }

// to is the only writer of the state: it checks the move against the table
// and records it with its reason.
func (p *plan) to(next State, reason string) {
	if !p.m.State.CanMove(next) {
		p.fail(fmt.Errorf("%w: %s → %s (%s)", errTransition, p.m.State, next, reason))
		return
	}
	p.do(transition{from: p.m.State, to: next, reason: reason})
	p.m.State = next
}

func (p *plan) save() { p.do(save{}) }
func (p *plan) note(l slog.Level, msg string, args ...any) {
	p.do(note{level: l, msg: msg, args: args})
}

func (p *plan) incident(ref incRef, c incidentChange, evs ...incident.Event) {
	p.do(changeIncident{ref: ref, change: c, events: evs})
}

func (p *plan) event(typ, msg string) incident.Event {
	return incident.Event{At: p.now, Type: typ, Actor: "ripcord", Message: msg}
}

// newIncident fills in what every incident ripcord opens has.
func (p *plan) newIncident(inc incident.Incident, evs ...incident.Event) incident.Incident {
	inc.Service, inc.Status = p.m.Name, incident.Investigating
	inc.CreatedAt, inc.UpdatedAt = p.now, p.now
	opened := p.event(incident.EvOpened, fmt.Sprintf("%s incident opened (%s): %s", inc.Severity, inc.Kind, inc.Title))
	inc.Events = append([]incident.Event{opened}, evs...)
	return inc
}

// watchState is where a version under watch stands: stable once baked.
func (p *plan) watchState() State {
	if p.now.Sub(p.m.WatchSince) >= p.pol.Bake {
		return StateStable
	}
	return StateWatching
}

// evaluated folds one verdict into the machine.
func (p *plan) evaluated(r detect.Result) {
	if p.m.State == StateReverting {
		return // an action is in flight or awaits recovery
	}
	p.trackBlind(r)
	p.trackSuspect(r)
	// The guard's verdict is final: sequential tests need no repeat, and
	// the fixed-window rule counts its own consecutive windows.
	act := r.Verdict == detect.Degraded
	switch p.m.State {
	case StateWatching, StateStable:
		if p.m.State == StateWatching && p.now.Sub(p.m.WatchSince) >= p.pol.Bake {
			p.to(StateStable, "bake passed: "+p.m.Active+" watched for "+p.pol.Bake.String())
			p.save()
		}
		if act {
			p.bad(r)
		}
	case StateVerifying:
		p.verify(r, act)
	case StateCanary:
		p.canaryEvaluated(r)
	case StateShadowing:
		p.shadowEvaluated(r)
	}
}

// trackBlind opens a "flying blind" incident when signals stay missing past
// the grace period, and resolves it when they return.
func (p *plan) trackBlind(r detect.Result) {
	if r.Verdict != detect.Blind {
		if id := p.m.BlindIncident; id != "" {
			p.incident(byID(id), incidentChange{Advance: incident.Resolved, Resolved: true},
				p.event(incident.EvDataReturned, "signals are back after "+p.now.Sub(p.m.BlindSince).Round(time.Second).String()))
			p.m.BlindIncident = ""
		}
		p.m.BlindSince = time.Time{}
		return
	}
	if p.m.BlindSince.IsZero() {
		p.m.BlindSince = p.now
	}
	if p.m.BlindIncident != "" || p.now.Sub(p.m.BlindSince) < p.pol.BlindGrace {
		return
	}
	p.do(openIncident{slot: slotBlind, inc: p.newIncident(incident.Incident{Kind: incident.KindBlind,
		Severity: incident.Minor, Title: p.m.Name + ": flying blind", Reason: r.Reason, FromVersion: p.m.Active,
		ImpactStartedAt: p.m.BlindSince, DetectedAt: p.now})})
	p.note(slog.LevelWarn, "flying blind: signals missing, no rollback will be taken on missing data",
		"since", p.m.BlindSince, "reason", r.Reason)
}

// trackSuspect opens a minor incident when the active version stays
// suspect (anomalous, but not enough to revert) past suspect_grace, saying
// why nothing was reverted, and resolves it when the version turns healthy;
// clearSuspect resolves it when the version is reverted or replaced.
func (p *plan) trackSuspect(r detect.Result) {
	switch r.Verdict {
	case detect.Suspect:
		if p.m.SuspectSince.IsZero() {
			p.m.SuspectSince = p.now
		}
		if p.m.SuspectIncident != "" || p.now.Sub(p.m.SuspectSince) < p.pol.SuspectGrace || p.m.State == StateVerifying {
			return
		}
		p.do(openIncident{slot: slotSuspect, inc: p.newIncident(incident.Incident{Kind: incident.KindSuspect,
			Severity: incident.Minor, Title: fmt.Sprintf("%s: %s is suspect, not reverted", p.m.Name, p.m.Active),
			Reason: r.Reason, FromVersion: p.m.Active, ImpactStartedAt: p.m.SuspectSince, DetectedAt: p.now},
			detectedEvent(p.now, r), p.event(incident.EvSuppressed, "not reverted: "+r.Reason))})
		p.note(slog.LevelWarn, "suspect, not reverted", "version", p.m.Active, "since", p.m.SuspectSince, "reason", r.Reason)
	case detect.Healthy:
		p.clearSuspect(p.m.Active + " is healthy again after " + p.now.Sub(p.m.SuspectSince).Round(time.Second).String())
	}
}

// watch starts judging version, ending the suspicion about the watch before.
func (p *plan) watch(version string) {
	if p.m.SuspectIncident != "" {
		why := p.m.Active + " is no longer live: " + version + " is"
		if version == p.m.Active {
			why = "the watch of " + version + " started again"
		}
		p.clearSuspect(why)
	}
	p.m.watch(version, p.now)
}

func (p *plan) clearSuspect(why string) {
	p.m.SuspectSince = time.Time{}
	if id := p.m.SuspectIncident; id != "" {
		p.incident(byID(id), incidentChange{Advance: incident.Resolved, Resolved: true}, p.event(incident.EvCleared, why))
		p.m.SuspectIncident = ""
	}
}

// bad handles a confirmed Degraded verdict on a watching or stable version.
func (p *plan) bad(r detect.Result) {
	from := p.m.Active
	to, schemaWhy, skipped := p.revertTarget(from)
	inCanary := p.m.State == StateCanary
	if inCanary {
		// The stable version still serves most users (on the live schema):
		// the revert is to it.
		to, schemaWhy, skipped = p.m.Canary.Stable, "", nil
	}
	r.Reason = withSkipped(r.Reason, skipped)
	switch {
	case to == "" && schemaWhy != "" && !p.m.Paused && !p.pol.DryRun:
		p.do(openIncident{slot: slotChain, inc: p.newIncident(incident.Incident{Kind: incident.KindEscalation,
			Severity: incident.Critical, Title: fmt.Sprintf("%s: %s is bad and the schema guard allows no revert", p.m.Name, from),
			Reason: r.Reason, FromVersion: from, ImpactStartedAt: p.m.WatchSince, DetectedAt: p.now}, detectedEvent(p.now, r))})
		p.escalate("not reverting "+from+": "+schemaWhy, true)
	case p.m.Paused:
		p.raise(r, "automation is paused, nothing was reverted")
	case to == "" && p.pol.DryRun:
		p.raise(r, "dry run: would have escalated: no older healthy version of "+p.m.Name+" to revert to"+orWhy(schemaWhy))
	case to == "":
		// Nothing automatic can help: page a person and stop acting, as when
		// a fallback chain runs out.
		p.do(openIncident{slot: slotChain, inc: p.newIncident(incident.Incident{Kind: incident.KindEscalation,
			Severity: incident.Critical, Title: fmt.Sprintf("%s: %s is bad and no older healthy version exists", p.m.Name, from),
			Reason: r.Reason, FromVersion: from, ImpactStartedAt: p.m.WatchSince, DetectedAt: p.now}, detectedEvent(p.now, r))})
		p.escalate("no older healthy version of "+p.m.Name+" to revert to: "+r.Reason, true)
	case p.now.Before(p.m.CooldownUntil) && !inCanary:
		// (A canary going back to the version most users are on cannot
		// thrash: cooldown never keeps it on a share.)
		p.raise(r, "automatic rollback suppressed by cooldown until "+p.m.CooldownUntil.UTC().Format(time.RFC3339))
	case p.pol.DryRun:
		p.dryRun(r, from, to)
	default:
		p.autoRollback(r, from, to)
	}
}

func (p *plan) autoRollback(r detect.Result, from, to string) {
	kept := slices.DeleteFunc(slices.Clone(p.m.Rollbacks), func(at time.Time) bool { return p.now.Sub(at) > rollbackMemory })
	p.m.Rollbacks = append(kept, p.now)
	// The incident is opened after the switch (reverted): every write
	// between the verdict and the switch serves requests to the bad version.
	p.revertTo(ActionRollback, from, to, r, chainIncident)
}

// rollbackIncident is the incident of an automatic rollback, opened after
// the switch from the decision (and, when known, the verdict it was taken
// on): major, or critical when it is the frequentRollbacks-th in 7 days.
func (p *plan) rollbackIncident(d store.Decision, r *detect.Result) incident.Incident {
	n := p.m.recentRollbacks(d.CreatedAt)
	if !slices.Contains(p.m.Rollbacks, d.CreatedAt) {
		n++ // after a restart this rollback is not among them yet
	}
	sev := incident.Major
	detected := incident.Event{At: d.CreatedAt, Type: incident.EvDetected, Actor: "ripcord", Message: d.Reason,
		Data: map[string]any{"snapshot": d.Snapshot}}
	if r != nil {
		detected = detectedEvent(d.CreatedAt, *r)
	}
	evs := []incident.Event{detected}
	if n >= frequentRollbacks {
		sev = incident.Critical
		evs = append(evs, incident.Event{At: d.CreatedAt, Type: incident.EvNote, Actor: "ripcord",
			Message: fmt.Sprintf("%d rollbacks of %s in 7 days: severity raised to %s; the service is unstable", n, p.m.Name, sev)})
	}
	impact := p.m.WatchSince
	if c := p.m.Canary; c.Stable == d.ToVersion && !c.Since.IsZero() {
		impact = c.Since
		evs = append(evs, incident.Event{At: d.CreatedAt, Type: incident.EvNote, Actor: "ripcord",
			Message: fmt.Sprintf("%s was a canary at %d%% of traffic (since %s); the rest stayed on %s",
				d.FromVersion, p.share(), c.Since.UTC().Format(time.RFC3339), c.Stable)})
	}
	inc := p.newIncident(incident.Incident{Kind: incident.KindRollback, Severity: sev,
		Title:  fmt.Sprintf("%s: automatic rollback %s → %s", p.m.Name, d.FromVersion, d.ToVersion),
		Reason: d.Reason, FromVersion: d.FromVersion, ToVersion: d.ToVersion, ImpactStartedAt: impact, DetectedAt: d.CreatedAt}, evs...)
	return inc
}

// dryRun announces, once per version, the rollback policy.dry_run forbids,
// and asks the target (in dry-run mode) whether it could carry it out.
func (p *plan) dryRun(r detect.Result, from, to string) {
	key := from + "|dry run"
	if p.m.raised(key) {
		return
	}
	p.m.Raised = append(slices.Clone(p.m.Raised), key)
	would := fmt.Sprintf("would have rolled back %s → %s", from, to)
	p.do(openIncident{inc: p.newIncident(incident.Incident{Kind: incident.KindDryRun, Severity: incident.Major,
		Title:  fmt.Sprintf("%s: dry run: %s", p.m.Name, would),
		Reason: r.Reason, FromVersion: from, ToVersion: to, ImpactStartedAt: p.m.WatchSince, DetectedAt: p.now},
		detectedEvent(p.now, r), p.event(incident.EvDecision, would+": "+r.Reason+" (policy.dry_run: traffic is not moved)"))})
	p.revertTo(ActionDryRun, from, to, r, openedIncident)
}

// verify judges the version a revert moved to.
func (p *plan) verify(r detect.Result, act bool) {
	age := p.now.Sub(p.m.WatchSince)
	switch {
	case act && p.m.Paused:
		// Paused while the revert was in flight: it completed, and now
		// nothing more is done automatically.
		p.raise(r, "automation is paused, nothing was reverted")
	case act:
		p.fallback(r)
	case r.Verdict == detect.Healthy && age >= p.pol.Verify:
		p.stabilise(r, "verified: "+p.m.Active+" healthy for "+age.Round(time.Millisecond).String()+": "+summary(r))
	case r.Verdict != detect.Degraded && age >= 3*p.pol.Verify:
		p.stabilise(r, "verification inconclusive after "+age.Round(time.Second).String()+" ("+r.Reason+"); treating "+p.m.Active+" as stable")
	}
}

// fallback handles a version that a revert moved to and that is bad too.
// Its incident hears of it after the switch (reverted).
func (p *plan) fallback(r detect.Result) {
	from := p.m.Active
	to, schemaWhy, skipped := p.revertTarget(from)
	r.Reason = withSkipped(r.Reason, skipped)
	if to == "" || p.m.Fallbacks >= p.pol.MaxFallback {
		p.incident(chainIncident, incidentChange{}, detectedEvent(p.now, r))
		p.escalate(fmt.Sprintf("fallback chain exhausted after %d step(s): %s is bad too: %s%s", p.m.Fallbacks, from, r.Reason, orWhy(schemaWhy)), p.m.IncidentID != "")
		return
	}
	p.revertTo(ActionFallback, from, to, r, chainIncident)
}

// raise opens, once per version and reason, an incident for a bad version
// ripcord does not revert.
func (p *plan) raise(r detect.Result, why string) {
	key := p.m.Active + "|" + why
	if p.m.raised(key) {
		return
	}
	p.m.Raised = append(slices.Clone(p.m.Raised), key)
	p.do(openIncident{inc: p.newIncident(incident.Incident{Kind: incident.KindDegraded, Severity: incident.Major,
		Title:  fmt.Sprintf("%s: %s is degraded, not reverted", p.m.Name, p.m.Active),
		Reason: r.Reason, FromVersion: p.m.Active, ImpactStartedAt: p.m.WatchSince, DetectedAt: p.now},
		detectedEvent(p.now, r), p.event(incident.EvSuppressed, why))})
	p.note(slog.LevelWarn, "degraded, not reverted", "version", p.m.Active, "why", why)
}

// stabilise ends a verification: the service is stable on its active version.
func (p *plan) stabilise(r detect.Result, msg string) {
	id := p.m.IncidentID
	p.to(StateStable, msg)
	p.m.IncidentID, p.m.Fallbacks = "", 0
	p.save()
	ev := p.event(incident.EvVerified, msg)
	ev.Data = map[string]any{"snapshot": snapshot(r)}
	p.incident(byID(id), incidentChange{Advance: incident.Monitoring, Mitigated: true}, ev)
}

func detectedEvent(now time.Time, r detect.Result) incident.Event {
	return incident.Event{At: now, Type: incident.EvDetected, Actor: "ripcord", Message: r.Reason,
		Data: map[string]any{"findings": r.Findings}}
}

// snapshot flattens a result to the numbers a decision is stored with.
func snapshot(r detect.Result) map[string]float64 {
	m := make(map[string]float64, len(r.Findings)+1)
	for _, f := range r.Findings {
		if !f.Missing {
			m[f.Metric] = f.Value
		}
	}
	m["samples"] = float64(r.Samples)
	return m
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

// orWhy appends the schema guard's reason, if any.
func orWhy(why string) string {
	if why == "" {
		return ""
	}
	return "; " + why
}
