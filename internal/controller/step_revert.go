package controller

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// revertTo records the decision, then acts on it: the decision is durable
// before the switch, so a restart can complete it exactly once. The decision
// and the reverting state are one commit; an automatic action's incident is
// written after the switch (reverted), so nothing else stands between the
// verdict and the switch. A person's rollback and a dry run have their
// incident already (the person is shown it at once; a dry run moves no
// traffic) and say on it that the revert starts.
func (p *plan) revertTo(action, from, to string, r detect.Result, inc incRef) {
	dry := action == ActionDryRun
	why := fmt.Sprintf("%s %s → %s: %s", action, from, to, r.Reason)
	if dry {
		why = fmt.Sprintf("dry run: asking the target about %s → %s", from, to)
	}
	p.to(StateReverting, why)
	p.do(recordDecision{d: store.Decision{Service: p.m.Name, Action: action, FromVersion: from, ToVersion: to,
		Reason: r.Reason, Snapshot: snapshot(r), CreatedAt: p.now}, inc: inc})
	p.do(count{decision: action}, afterDecision{})
	if !automatic(action) {
		p.startRevert(inc, from, to, dry, p.now)
	}
	p.do(targetRevert{verdict: &r})
}

// automatic actions write their incident after the switch.
func automatic(action string) bool { return action == ActionRollback || action == ActionFallback }

func (p *plan) startRevert(inc incRef, from, to string, dry bool, at time.Time) {
	if dry {
		p.incident(inc, incidentChange{}, incident.Event{At: at, Type: incident.EvRollbackStarted, Actor: "ripcord",
			Message: fmt.Sprintf("dry run: asking the target whether it could switch %s → %s", from, to)})
		return
	}
	p.incident(inc, incidentChange{RollbackStarted: true}, incident.Event{At: at, Type: incident.EvRollbackStarted,
		Actor: "ripcord", Message: fmt.Sprintf("switching %s → %s", from, to)})
}

// reverted applies the target's answer to a decision. An automatic
// decision's incident hears of it now: the rollback's is opened (and the
// decision linked to it), the fallback's gets what was detected, and both
// get the revert's start, dated when it was decided.
func (p *plan) reverted(in reverted) {
	d, res, err := in.d, in.res, in.err
	inc, opened := byID(d.IncidentID), false
	dry := d.Action == ActionDryRun
	if automatic(d.Action) {
		inc, opened = p.announce(d, in.verdict)
		if in.recordErr != nil && opened {
			p.incident(inc, incidentChange{}, unrecorded(d.CreatedAt, in.recordErr))
		}
		if err == nil {
			p.do(afterIncident{d: d})
		}
	}
	if res.Output != "" {
		// What the target's program or endpoint said, already capped and
		// scrubbed by the target, success or failure.
		ev := p.event(incident.EvNote, "target output:\n"+res.Output)
		ev.Data = map[string]any{"target_output": res.Output}
		p.incident(inc, incidentChange{}, ev)
	}
	switch {
	case err != nil && dry:
		p.do(finishDecision{id: d.ID, status: store.DecisionFailed, result: err.Error()})
		p.incident(inc, incidentChange{}, p.event(incident.EvRollbackFailed, "dry run: the revert would fail: "+err.Error()))
		p.to(p.watchState(), "dry run: traffic left on "+d.FromVersion)
		p.save()
	case err != nil:
		p.do(finishDecision{id: d.ID, status: store.DecisionFailed, result: err.Error()})
		p.incident(inc, incidentChange{}, p.event(incident.EvRollbackFailed, err.Error()))
		p.escalate(fmt.Sprintf("revert %s → %s failed: %v", d.FromVersion, d.ToVersion, err), opened || p.m.IncidentID != "")
	case dry:
		p.do(finishDecision{id: d.ID, status: store.DecisionDone,
			result: fmt.Sprintf("dry run: would have switched %s → %s; traffic left on %s", d.FromVersion, res.To, d.FromVersion)})
		p.incident(inc, incidentChange{}, p.event(incident.EvDecision,
			fmt.Sprintf("dry run: the target can switch %s → %s; traffic stays on %s (policy.dry_run)", d.FromVersion, res.To, d.FromVersion)))
		p.to(p.watchState(), "dry run: traffic left on "+d.FromVersion)
		p.save()
	default:
		p.switched(d, res, inc)
	}
}

// announce writes what an automatic decision's incident says up to the
// switch, and returns the incident and whether it opened it.
func (p *plan) announce(d store.Decision, verdict *detect.Result) (incRef, bool) {
	detected := incident.Event{At: d.CreatedAt, Type: incident.EvDetected, Actor: "ripcord", Message: d.Reason,
		Data: map[string]any{"snapshot": d.Snapshot}}
	if verdict != nil {
		detected = detectedEvent(d.CreatedAt, *verdict)
	}
	ref, opened := byID(d.IncidentID), false
	switch {
	case d.IncidentID == "" && d.Action == ActionRollback:
		p.do(openIncident{slot: slotChain, inc: p.rollbackIncident(d, verdict)},
			linkDecision{id: d.ID, inc: chainIncident})
		ref, opened = chainIncident, true
	case d.IncidentID == "":
		ref = chainIncident
		fallthrough
	case d.Action == ActionFallback:
		p.incident(ref, incidentChange{}, detected, incident.Event{At: d.CreatedAt, Type: incident.EvFallback,
			Actor: "ripcord", Message: fmt.Sprintf("%s is bad too; falling back to %s", d.FromVersion, d.ToVersion)})
	}
	p.startRevert(ref, d.FromVersion, d.ToVersion, false, d.CreatedAt)
	return ref, opened
}

// switched is a revert that moved traffic: verify the version it moved to.
func (p *plan) switched(d store.Decision, res revert.Result, inc incRef) {
	p.do(finishDecision{id: d.ID, status: store.DecisionDone,
		result: fmt.Sprintf("switched %s → %s in %s", d.FromVersion, d.ToVersion, res.Duration)})
	p.m.markBad(d.FromVersion, d.Reason)
	p.watch(d.ToVersion)
	p.m.Canary = store.Canary{} // a canary reverted is a canary ended
	p.to(StateVerifying, fmt.Sprintf("reverted %s → %s; verifying %s for %s", d.FromVersion, d.ToVersion, d.ToVersion, p.pol.Verify))
	p.m.CooldownUntil = p.now.Add(p.pol.Cooldown)
	p.m.Fallbacks++
	p.do(route{op: routeFallback, version: p.m.fallbackFor(d.ToVersion)})
	// rollback_done before the state leaves reverting: a crash between the
	// two then leaves the service reverting with the decision done and the
	// event written, which recovery settles; saved first, a crash left it
	// verifying with no rollback_done, and recovery (which only looks at a
	// service left reverting) never wrote it.
	ev := p.event(incident.EvRollbackDone, fmt.Sprintf("traffic on %s (switch took %s); verifying for %s", d.ToVersion, res.Duration, p.pol.Verify))
	ev.Data = map[string]any{"from": d.FromVersion, "to": d.ToVersion, "switch_ns": res.Duration.Nanoseconds()}
	p.incident(inc, incidentChange{Advance: incident.Identified, ToVersion: d.ToVersion}, ev)
	p.save()
	p.do(count{rollback: true})
	p.note(slog.LevelInfo, "reverted", "from", d.FromVersion, "to", d.ToVersion, "took", res.Duration, "reason", d.Reason)
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
	if canaryAction(d.Action) {
		p.recoverShare(d)
		return
	}
	if d.Action == ActionShadowReject { // nothing moved: the state it was saved with is final
		p.do(finishDecision{id: d.ID, status: store.DecisionDone, result: "completed after restart: " + d.FromVersion + " stayed out of traffic"})
		return
	}
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
	if !automatic(d.Action) {
		p.startRevert(byID(d.IncidentID), d.FromVersion, d.ToVersion, d.Action == ActionDryRun, p.now)
	}
	p.do(targetRevert{d: &d})
}

// recoverReverting settles a service left reverting with no decision
// pending: the crash came after the decision was finished and before the new
// state was saved, and the last decision tells where it was going.
func (p *plan) recoverReverting(last *store.Decision, undone bool) {
	switch {
	case last != nil && last.Status == store.DecisionDone && last.Action != ActionDryRun:
		if automatic(last.Action) && last.IncidentID != "" {
			// The verification's outcome goes on the rollback's incident,
			// which must say the switch was done, once.
			p.m.IncidentID = last.IncidentID
			if undone {
				ev := p.event(incident.EvRollbackDone, fmt.Sprintf("traffic on %s (completed after restart); verifying for %s", last.ToVersion, p.pol.Verify))
				ev.Data = map[string]any{"from": last.FromVersion, "to": last.ToVersion}
				p.incident(byID(last.IncidentID), incidentChange{Advance: incident.Identified, ToVersion: last.ToVersion}, ev)
			}
		}
		p.do(route{op: routeActivate, version: last.ToVersion, must: true})
		p.m.markBad(last.FromVersion, last.Reason)
		p.watch(last.ToVersion)
		p.m.Canary = store.Canary{}
		p.to(StateVerifying, fmt.Sprintf("restart: decision %d (%s → %s) was done; verifying %s", last.ID, last.FromVersion, last.ToVersion, last.ToVersion))
		p.do(route{op: routeFallback, version: p.m.fallbackFor(last.ToVersion)})
	case last != nil && last.Action == ActionDryRun:
		p.to(p.watchState(), "restart: the dry run had finished; "+p.m.Active+" stays active")
	default:
		p.to(StateStable, "restart: no finished decision to complete; "+p.m.Active+" stays active")
	}
	p.do(save{must: true})
}
