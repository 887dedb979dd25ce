package controller

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// deploy adds (when url is given) and activates version, and starts watching
// it. Deploying a known-bad version is a person's explicit choice and clears
// the mark.
func (p *plan) deploy(version, url, actor string) {
	if p.m.State == StateReverting || p.m.Moving {
		p.fail(conflict(p.m.Name, p.m.State, p.m.Active, "deploy of "+version))
		return
	}
	i := findVersion(p.m.Versions, version)
	if i < 0 && url == "" {
		p.fail(fmt.Errorf("%w: version %q is new to %s: give its --url", ErrInvalid, version, p.m.Name))
		return
	}
	if url != "" {
		p.do(route{op: routeRegister, version: version, url: url, must: true})
		if i < 0 {
			p.m.Versions = append(slices.Clone(p.m.Versions), store.Version{Name: version, AddedAt: p.now})
		}
	}
	p.m.editVersion(version, func(v *store.Version) {
		if url != "" {
			v.URL = url
		}
		v.KnownBad, v.BadReason = false, ""
	})
	p.do(recordDeployment{d: store.Deployment{Service: p.m.Name, Version: version,
		URL: p.m.Versions[findVersion(p.m.Versions, version)].URL, Actor: actor, At: p.now}})
	if p.shadowDeploy(version) {
		p.startShadow(version, actor)
		return
	}
	if p.canaryDeploy(version) {
		p.startCanary(version, actor)
		return
	}
	p.do(route{op: routeActivate, version: version, must: true})
	p.watch(version)
	p.to(StateWatching, "deployed "+version+" by "+actor)
	p.m.IncidentID, p.m.Fallbacks, p.m.Raised = "", 0, nil
	p.do(route{op: routeFallback, version: p.m.fallbackFor(version)}, save{must: true})
}

// canaryDeploy reports whether a deploy of version ramps as a canary:
// with strategy.canary, a stable version to keep the rest of the traffic,
// and no share change in flight.
func (p *plan) canaryDeploy(version string) bool {
	if p.canary == nil || p.m.Moving {
		return false
	}
	stable := p.liveStable()
	return stable != "" && stable != version
}

// observed starts watching a version someone else deployed (a Kubernetes
// rollout the watcher saw). ripcord's own reverts show up as rollouts too;
// they are recognised by their change-cause, or by naming the version
// already active, and ignored.
func (p *plan) observed(in observedCmd) {
	why := ""
	switch {
	case strings.HasPrefix(in.changeCause, "ripcord:"):
		why = "ripcord's own revert"
	case in.version == p.m.Active:
		why = "already active"
	case p.m.State == StateReverting:
		why = "a revert is in flight"
	}
	if why != "" {
		p.note(slog.LevelDebug, "rollout ignored", "version", in.version, "why", why)
		return
	}
	if findVersion(p.m.Versions, in.version) < 0 && in.image == "" {
		// A registry version has no URL: register it by name.
		p.m.Versions = append(slices.Clone(p.m.Versions), store.Version{Name: in.version, AddedAt: p.now})
	}
	p.deploy(in.version, in.image, cmp.Or(in.actor, "kubernetes"))
}

// rollback is a person's revert: to the given version, or the newest older
// healthy one. It ignores cooldown and policy.dry_run (a person decided) but
// starts a cooldown, and marks the version it leaves known-bad.
func (p *plan) rollback(in rollbackCmd) {
	from, to := p.m.Active, in.to
	if to == "" {
		to = p.m.fallbackFor(from)
	}
	switch {
	case p.m.State == StateReverting || p.m.Moving:
		p.fail(conflict(p.m.Name, p.m.State, p.m.Active, "manual rollback"))
	case to == "":
		p.fail(fmt.Errorf("%w: no older healthy version of %s to roll back to; give --to", ErrInvalid, p.m.Name))
	case findVersion(p.m.Versions, to) < 0:
		p.fail(fmt.Errorf("%w: %s has no version %q", ErrInvalid, p.m.Name, to))
	case to == from:
		p.fail(fmt.Errorf("%w: %s is already on %s", ErrInvalid, p.m.Name, to))
	}
	if p.err != nil {
		return
	}
	reason := in.reason
	if reason == "" {
		reason = "manual rollback by " + in.actor
	}
	p.do(openIncident{slot: slotChain, must: true, inc: p.newIncident(incident.Incident{Kind: incident.KindManual,
		Severity: incident.Minor, Title: fmt.Sprintf("%s: manual rollback %s → %s", p.m.Name, from, to), Reason: reason,
		FromVersion: from, ToVersion: to, ImpactStartedAt: p.m.WatchSince, DetectedAt: p.now},
		incident.Event{At: p.now, Type: incident.EvDecision, Actor: in.actor, Message: reason})})
	r := in.last
	r.Reason = reason
	p.m.Fallbacks = 0
	p.revertTo(ActionManual, from, to, r, chainIncident)
}

// pause stops automatic actions; verdicts are still computed and shown. It
// is accepted in every state: a revert in flight completes, and nothing
// automatic follows it.
func (p *plan) pause(actor string) {
	p.m.Paused = true
	p.note(slog.LevelInfo, "paused", "actor", actor, "state", p.m.State)
	p.do(save{must: true})
}

// resume re-enables automation; an escalated service becomes stable on its
// current version and starts a fresh watch.
func (p *plan) resume(actor string) {
	if p.m.State == StateReverting {
		p.fail(conflict(p.m.Name, p.m.State, p.m.Active, "resume"))
		return
	}
	p.m.Paused = false
	if p.m.State == StateEscalated {
		p.watch(p.m.Active)
		p.to(StateStable, "resumed by "+actor+" after escalation")
		p.m.IncidentID, p.m.Fallbacks = "", 0
	}
	p.note(slog.LevelInfo, "resumed", "actor", actor)
	p.do(save{must: true})
}
