package controller

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// Shadow phase: with strategy.shadow a deploy first sends the new version
// copies of live requests, judged like live traffic, while every user stays
// on the stable version (machine.Active is the new version, the one being
// judged, and Canary.Stable the version serving users; Canary.Since is when
// the shadow began). A bad verdict stops the deploy there — no user met the
// version — and a healthy one after shadow.duration moves on to the canary,
// or with no canary to the blue-green switch.

// ActionShadowReject is the decision to stop a deploy caught in shadow. It
// moves no traffic (none ever reached the version), so it is recorded and
// finished in one pass.
const ActionShadowReject = "shadow_reject"

// Shadower is a router that can copy live traffic to a version (the
// built-in switch); deps.Router is asked for it with a type assertion.
type Shadower interface {
	StartShadow(stable, version string) error
	StopShadow()
}

// shadowDeploy reports whether a deploy of version begins in shadow: with
// strategy.shadow, and a stable version to copy traffic from.
func (p *plan) shadowDeploy(version string) bool {
	if p.shadow == nil || p.m.Moving {
		return false
	}
	stable := p.liveStable()
	return stable != "" && stable != version
}

// liveStable is the version users are on: the stable side of a canary or a
// shadow, the active version otherwise.
func (p *plan) liveStable() string {
	if p.m.State == StateCanary || p.m.State == StateShadowing {
		return p.m.Canary.Stable
	}
	return p.m.Active
}

// startShadow begins judging version on copies of stable's traffic.
func (p *plan) startShadow(version, actor string) {
	stable := p.liveStable()
	p.do(route{op: routeShadow, stable: stable, version: version, must: true})
	p.watch(version)
	p.m.Canary = store.Canary{Stable: stable, Since: p.now}
	p.m.IncidentID, p.m.Fallbacks, p.m.Raised = "", 0, nil
	p.to(StateShadowing, fmt.Sprintf("deployed %s by %s: in shadow for at least %s on copies of %s's traffic; no user on it",
		version, actor, p.shadow.Duration, stable))
	p.do(route{op: routeFallback, version: p.m.fallbackFor(stable)}, save{must: true})
}

// shadowEvaluated acts on a verdict about a version in shadow: bad stops
// the deploy; healthy once shadow.duration has passed moves it on.
func (p *plan) shadowEvaluated(r detect.Result) {
	if p.m.Moving || p.shadow == nil {
		return
	}
	age := p.now.Sub(p.m.WatchSince)
	switch {
	case r.Verdict == detect.Degraded:
		p.shadowBad(r)
	case r.Verdict == detect.Healthy && age >= p.shadow.Duration:
		p.shadowPassed(fmt.Sprintf("%s healthy in shadow after %s: %s", p.m.Active, age.Round(time.Millisecond), summary(r)))
	case age >= shadowHoldAfter*p.shadow.Duration:
		p.shadowHeld(r, age)
	}
}

// shadowHoldAfter × shadow.duration without a verdict (too few copies: the
// methods copied get little traffic) opens a minor incident, once; the
// version stays in shadow, with no user on it, until the evidence comes or
// a person promotes or aborts.
const shadowHoldAfter = 10

func (p *plan) shadowHeld(r detect.Result, age time.Duration) {
	key := p.m.Active + "|shadow held"
	if p.m.raised(key) {
		return
	}
	p.m.Raised = append(p.m.Raised[:len(p.m.Raised):len(p.m.Raised)], key)
	why := fmt.Sprintf("no verdict on %s after %s in shadow (%d× shadow.duration): held there, no user on it; "+
		"`ripcord promote` skips the shadow, `ripcord abort` ends it; %s", p.m.Active, age.Round(time.Second), shadowHoldAfter, r.Reason)
	p.do(openIncident{inc: p.newIncident(incident.Incident{Kind: incident.KindShadowHeld, Severity: incident.Minor,
		Title:  fmt.Sprintf("%s: %s held in shadow, no verdict", p.m.Name, p.m.Active),
		Reason: why, FromVersion: p.m.Active, ImpactStartedAt: p.m.WatchSince, DetectedAt: p.now},
		p.event(incident.EvSuppressed, why))})
	p.note(slog.LevelWarn, "shadow held", "version", p.m.Active, "why", why)
}

// shadowPassed moves a version out of shadow: to the canary's first step
// (the share decision ends the shadow), or all traffic at once.
func (p *plan) shadowPassed(why string) {
	version, stable := p.m.Active, p.m.Canary.Stable
	if p.canary != nil {
		p.shareDecision(ActionCanaryStep, stable, version, 0, fmt.Sprintf("%s; canary at %d%%, %s on stable", why, p.canary.Steps[0], stable))
		return
	}
	p.do(route{op: routeActivate, version: version, must: true})
	p.watch(version)
	p.m.Canary = store.Canary{}
	p.to(StateWatching, why+"; all traffic on "+version)
	p.do(route{op: routeFallback, version: p.m.fallbackFor(version)}, save{must: true})
}

// shadowBad stops a deploy caught in shadow: the copies end, the version
// is marked known-bad and an incident says no user met it. Paused or dry
// run: announced once, and the version stays in shadow (nothing moves on
// automatically).
func (p *plan) shadowBad(r detect.Result) {
	version, stable := p.m.Active, p.m.Canary.Stable
	switch {
	case p.m.Paused:
		p.raise(r, "automation is paused: "+version+" stays in shadow, no user on it")
		return
	case p.pol.DryRun:
		p.raise(r, "dry run: would have stopped the deploy of "+version+" in shadow (no user on it)")
		return
	}
	why := fmt.Sprintf("%s caught in shadow, before any user met it: %s", version, r.Reason)
	p.m.markBad(version, why)
	p.do(route{op: routeStopShadow})
	p.watch(stable)
	p.m.Canary = store.Canary{}
	p.to(StateStable, "deploy stopped: "+why+"; all traffic stayed on "+stable)
	p.do(openIncident{slot: slotChain, inc: p.newIncident(incident.Incident{Kind: incident.KindShadow, Severity: incident.Minor,
		Title:  fmt.Sprintf("%s: %s caught in shadow, deploy stopped; no user met it", p.m.Name, version),
		Reason: r.Reason, FromVersion: version, ToVersion: stable, ImpactStartedAt: p.now, DetectedAt: p.now},
		detectedEvent(p.now, r), p.event(incident.EvDecision, fmt.Sprintf("deploy of %s stopped in shadow: every user stayed on %s", version, stable)))})
	p.do(recordDecision{d: store.Decision{Service: p.m.Name, Action: ActionShadowReject, FromVersion: version, ToVersion: stable,
		Reason: r.Reason, Snapshot: snapshot(r), CreatedAt: p.now}, inc: chainIncident},
		count{decision: ActionShadowReject},
		finishDecision{last: true, status: store.DecisionDone, result: "copies stopped; " + version + " marked known-bad; no traffic moved"},
		route{op: routeFallback, version: p.m.fallbackFor(stable)}, save{must: true})
	p.note(slog.LevelWarn, "deploy caught in shadow", "version", version, "stable", stable, "reason", r.Reason)
}

// shadowCommand is promote or abort during a shadow: promote skips the
// rest of the shadow, abort ends it with the version not marked bad.
func (p *plan) shadowCommand(promote bool, actor, reason string) {
	if p.shadow == nil {
		p.fail(fmt.Errorf("%w: %s has no strategy.shadow configured", ErrInvalid, p.m.Name))
		return
	}
	if promote {
		p.shadowPassed(fmt.Sprintf("shadow of %s skipped by %s", p.m.Active, actor))
		return
	}
	version, stable := p.m.Active, p.m.Canary.Stable
	why := fmt.Sprintf("shadow of %s aborted by %s: all traffic stays on %s", version, actor, stable)
	if reason != "" {
		why += ": " + reason
	}
	p.do(route{op: routeStopShadow})
	p.watch(stable)
	p.m.Canary = store.Canary{}
	p.to(StateStable, why)
	// Recorded as a canary abort is (stable, version, 0 %), so a restart
	// that finds it pending completes it the same way: all on stable.
	p.do(recordDecision{d: store.Decision{Service: p.m.Name, Action: ActionAbort, FromVersion: stable, ToVersion: version,
		Reason: why, Snapshot: map[string]float64{snapPercent: 0, snapStep: -1}, CreatedAt: p.now}, inc: byID("")}, count{decision: ActionAbort},
		finishDecision{last: true, status: store.DecisionDone, result: "copies stopped"},
		route{op: routeFallback, version: p.m.fallbackFor(stable)}, save{must: true})
}
