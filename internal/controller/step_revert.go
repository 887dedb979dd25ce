package controller

import (
	"fmt"
	"log/slog"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// revertTo records the decision, then acts on it: the decision is durable
// before the switch, so a restart can complete it exactly once.
func (p *plan) revertTo(action, from, to string, r detect.Result, inc incRef) {
	p.do(recordDecision{d: store.Decision{Service: p.m.Name, Action: action, FromVersion: from, ToVersion: to,
		Reason: r.Reason, Snapshot: snapshot(r), CreatedAt: p.now}, inc: inc})
	dry := action == ActionDryRun
	why := fmt.Sprintf("%s %s → %s: %s", action, from, to, r.Reason)
	if dry {
		why = fmt.Sprintf("dry run: asking the target about %s → %s", from, to)
	}
	p.to(StateReverting, why)
	p.save()
	p.do(count{decision: action}, afterDecision{})
	p.startRevert(inc, from, to, dry)
	p.do(targetRevert{})
}

func (p *plan) startRevert(inc incRef, from, to string, dry bool) {
	if dry {
		p.incident(inc, incidentChange{}, p.event(incident.EvRollbackStarted,
			fmt.Sprintf("dry run: asking the target whether it could switch %s → %s", from, to)))
		return
	}
	p.incident(inc, incidentChange{RollbackStarted: true},
		p.event(incident.EvRollbackStarted, fmt.Sprintf("switching %s → %s", from, to)))
}

// reverted applies the target's answer to a decision.
func (p *plan) reverted(d store.Decision, res revert.Result, err error) {
	inc := byID(d.IncidentID)
	dry := d.Action == ActionDryRun
	switch {
	case err != nil && dry:
		p.do(finishDecision{id: d.ID, status: store.DecisionFailed, result: err.Error()})
		p.incident(inc, incidentChange{}, p.event(incident.EvRollbackFailed, "dry run: the revert would fail: "+err.Error()))
		p.to(p.watchState(), "dry run: traffic left on "+d.FromVersion)
		p.save()
	case err != nil:
		p.do(finishDecision{id: d.ID, status: store.DecisionFailed, result: err.Error()})
		p.incident(inc, incidentChange{}, p.event(incident.EvRollbackFailed, err.Error()))
		p.escalate(fmt.Sprintf("revert %s → %s failed: %v", d.FromVersion, d.ToVersion, err), p.m.IncidentID != "")
	case dry:
		p.do(finishDecision{id: d.ID, status: store.DecisionDone,
			result: fmt.Sprintf("dry run: would have switched %s → %s; traffic left on %s", d.FromVersion, res.To, d.FromVersion)})
		p.incident(inc, incidentChange{}, p.event(incident.EvDecision,
			fmt.Sprintf("dry run: the target can switch %s → %s; traffic stays on %s (policy.dry_run)", d.FromVersion, res.To, d.FromVersion)))
		p.to(p.watchState(), "dry run: traffic left on "+d.FromVersion)
		p.save()
	default:
		p.switched(d, res)
	}
}

// switched is a revert that moved traffic: verify the version it moved to.
func (p *plan) switched(d store.Decision, res revert.Result) {
	p.do(finishDecision{id: d.ID, status: store.DecisionDone,
		result: fmt.Sprintf("switched %s → %s in %s", d.FromVersion, d.ToVersion, res.Duration)})
	p.m.markBad(d.FromVersion, d.Reason)
	p.watch(d.ToVersion)
	p.to(StateVerifying, fmt.Sprintf("reverted %s → %s; verifying %s for %s", d.FromVersion, d.ToVersion, d.ToVersion, p.pol.Verify))
	p.m.CooldownUntil = p.now.Add(p.pol.Cooldown)
	p.m.Fallbacks++
	p.do(route{op: routeFallback, version: p.m.fallbackFor(d.ToVersion)})
	p.save()
	p.do(count{rollback: true})
	p.note(slog.LevelInfo, "reverted", "from", d.FromVersion, "to", d.ToVersion, "took", res.Duration, "reason", d.Reason)
	ev := p.event(incident.EvRollbackDone, fmt.Sprintf("traffic on %s (switch took %s); verifying for %s", d.ToVersion, res.Duration, p.pol.Verify))
	ev.Data = map[string]any{"from": d.FromVersion, "to": d.ToVersion, "switch_ns": res.Duration.Nanoseconds()}
	p.incident(byID(d.IncidentID), incidentChange{Advance: incident.Identified, ToVersion: d.ToVersion}, ev)
}

// escalate stops automation for the service and pages a person. With
// haveIncident false it opens the incident that does.
func (p *plan) escalate(why string, haveIncident bool) {
	p.to(StateEscalated, why)
	p.m.Paused = true
	p.save()
	p.do(count{decision: ActionEscalate})
	p.note(slog.LevelError, "escalated: automation paused", "why", why)
	if !haveIncident {
		p.do(openIncident{slot: slotChain, inc: p.newIncident(incident.Incident{Kind: incident.KindEscalation,
			Severity: incident.Critical, Title: p.m.Name + ": escalated, automation paused", Reason: why,
			FromVersion: p.m.Active, DetectedAt: p.now})})
		p.save()
	}
	// A monitoring incident is reopened; one a person resolved stays
	// resolved (the event still lands on its timeline).
	p.incident(chainIncident, incidentChange{Severity: incident.Critical, Advance: incident.Investigating},
		p.event(incident.EvEscalated, why+"; automation paused until `ripcord resume "+p.m.Name+"`"))
}

// recoverPending re-executes a decision a crash left pending. Revert is
// idempotent and the store refuses to finish a decision twice.
func (p *plan) recoverPending(d store.Decision) {
	if d.Action != ActionDryRun {
		p.m.IncidentID = d.IncidentID
	}
	p.incident(byID(d.IncidentID), incidentChange{}, p.event(incident.EvDecision,
		fmt.Sprintf("ripcord restarted with decision %d (%s → %s) pending; completing it", d.ID, d.FromVersion, d.ToVersion)))
	p.note(slog.LevelWarn, "completing decision interrupted by restart", "decision", d.ID, "action", d.Action,
		"from", d.FromVersion, "to", d.ToVersion)
	if p.m.State != StateReverting {
		p.to(StateReverting, fmt.Sprintf("restart: completing decision %d (%s → %s)", d.ID, d.FromVersion, d.ToVersion))
		p.save()
	}
	p.startRevert(byID(d.IncidentID), d.FromVersion, d.ToVersion, d.Action == ActionDryRun)
	p.do(targetRevert{d: &d})
}

// recoverReverting settles a service left reverting with no decision
// pending: the crash came after the decision was finished and before the new
// state was saved, and the last decision tells where it was going.
func (p *plan) recoverReverting(last *store.Decision) {
	switch {
	case last != nil && last.Status == store.DecisionDone && last.Action != ActionDryRun:
		p.do(route{op: routeActivate, version: last.ToVersion, must: true})
		p.m.markBad(last.FromVersion, last.Reason)
		p.watch(last.ToVersion)
		p.to(StateVerifying, fmt.Sprintf("restart: decision %d (%s → %s) was done; verifying %s", last.ID, last.FromVersion, last.ToVersion, last.ToVersion))
		p.do(route{op: routeFallback, version: p.m.fallbackFor(last.ToVersion)})
	case last != nil && last.Action == ActionDryRun:
		p.to(p.watchState(), "restart: the dry run had finished; "+p.m.Active+" stays active")
	default:
		p.to(StateStable, "restart: no finished decision to complete; "+p.m.Active+" stays active")
	}
	p.do(save{must: true})
}
