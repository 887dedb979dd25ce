package controller

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// Canary decision actions: each change of the new version's share is a
// decision, recorded before the share is set, like a revert.
const (
	ActionCanaryStep = "canary_step" // the start of a canary and each step up
	ActionPromote    = "promote"     // a person skipped the remaining steps
	ActionAbort      = "abort"       // a person sent everything back to stable
)

// canaryAction reports whether a decision sets a canary share (and is
// carried out by a weight, not a revert).
func canaryAction(action string) bool {
	return action == ActionCanaryStep || action == ActionPromote || action == ActionAbort
}

type (
	promoteCmd struct{ actor string }
	abortCmd   struct{ reason, actor string }
	// weighted is the target's answer to a targetWeight effect.
	weighted struct {
		d   store.Decision
		err error
	}
)

func (promoteCmd) isInput() {}
func (abortCmd) isInput()   {}
func (weighted) isInput()   {}

// Snapshot keys a canary decision carries its share and step in, so a
// restart can set the same share again.
const (
	snapPercent = "canary_percent"
	snapStep    = "canary_step"
)

// startCanary begins a canary of version against the version live now
// (the stable one of a canary in progress): its first share is decided
// and set; the canary state begins once the target confirms (canaryMoved).
func (p *plan) startCanary(version, actor string) {
	stable := p.liveStable()
	p.shareDecision(ActionCanaryStep, stable, version, 0,
		fmt.Sprintf("canary of %s deployed by %s: %d%% of traffic, %s on stable", version, actor, p.canary.Steps[0], stable))
}

// shareDecision records the decision to give canary the share of step
// (len(steps) for promote, -1 for abort), then asks the target to set it.
func (p *plan) shareDecision(action, stable, canary string, step int, why string) {
	pct := 0
	switch {
	case step >= len(p.canary.Steps):
		pct = 100
	case step >= 0:
		pct = p.canary.Steps[step]
	}
	p.m.Moving = true
	d := store.Decision{Service: p.m.Name, Action: action, FromVersion: stable, ToVersion: canary, Reason: why,
		Snapshot: map[string]float64{snapPercent: float64(pct), snapStep: float64(step)}, CreatedAt: p.now}
	p.do(recordDecision{d: d, inc: byID("")}, count{decision: action}, targetWeight{})
}

// canaryEvaluated acts on a verdict about the canary: a bad one reverts
// it to stable as any bad deploy is; otherwise the step advances once it
// is min_step old and the verdict is healthy, and a step without a verdict
// by max_step is held with a minor incident.
func (p *plan) canaryEvaluated(r detect.Result) {
	if r.Verdict == detect.Degraded {
		p.bad(r)
		return
	}
	if p.m.Moving || p.canary == nil {
		return
	}
	age := p.now.Sub(p.m.WatchSince)
	step := p.m.Canary.Step
	switch {
	case r.Verdict == detect.Healthy && age >= p.canary.MinStep:
		next := step + 1
		why := fmt.Sprintf("canary %s healthy at %d%% after %s: %s; to %d%%", p.m.Active, p.canary.Steps[step],
			age.Round(time.Millisecond), summary(r), p.canary.Steps[min(next, len(p.canary.Steps)-1)])
		p.shareDecision(ActionCanaryStep, p.m.Canary.Stable, p.m.Active, next, why)
	case age >= p.canary.MaxStep:
		key := fmt.Sprintf("%s|canary held at step %d", p.m.Active, step)
		if p.m.raised(key) {
			return
		}
		p.m.Raised = append(p.m.Raised[:len(p.m.Raised):len(p.m.Raised)], key)
		why := fmt.Sprintf("no verdict on canary %s at %d%% after %s (max_step): held at %d%%; %s",
			p.m.Active, p.canary.Steps[step], p.canary.MaxStep, p.canary.Steps[step], r.Reason)
		p.do(openIncident{inc: p.newIncident(incident.Incident{Kind: incident.KindCanaryHeld, Severity: incident.Minor,
			Title:  fmt.Sprintf("%s: canary %s held at %d%%", p.m.Name, p.m.Active, p.canary.Steps[step]),
			Reason: why, FromVersion: p.m.Active, ImpactStartedAt: p.m.WatchSince, DetectedAt: p.now},
			p.event(incident.EvSuppressed, why))})
		p.note(slog.LevelWarn, "canary held", "version", p.m.Active, "why", why)
	}
}

// promote is a person skipping the remaining steps: the canary takes all
// traffic and is watched as a blue-green deploy from then on.
func (p *plan) promote(in promoteCmd) {
	if p.m.State == StateShadowing && !p.m.Moving {
		p.shadowCommand(true, in.actor, "")
		return
	}
	if err := p.canaryCommand("promote"); err != nil {
		p.fail(err)
		return
	}
	p.shareDecision(ActionPromote, p.m.Canary.Stable, p.m.Active, len(p.canary.Steps),
		fmt.Sprintf("promoted by %s at %d%%: %s takes all traffic", in.actor, p.share(), p.m.Active))
}

// abort is a person's "not now": everything back to stable, the canary not
// marked known-bad and no incident opened — the decision trace says who
// and why. `ripcord rollback` remains the way to mark it bad.
func (p *plan) abort(in abortCmd) {
	if p.m.State == StateShadowing && !p.m.Moving {
		p.shadowCommand(false, in.actor, in.reason)
		return
	}
	if err := p.canaryCommand("abort"); err != nil {
		p.fail(err)
		return
	}
	why := fmt.Sprintf("aborted by %s at %d%%: back to %s", in.actor, p.share(), p.m.Canary.Stable)
	if in.reason != "" {
		why += ": " + in.reason
	}
	p.shareDecision(ActionAbort, p.m.Canary.Stable, p.m.Active, -1, why)
}

func (p *plan) canaryCommand(what string) error {
	switch {
	case p.m.State != StateCanary:
		return fmt.Errorf("%w: %s has no canary in progress (it is %s on %s); %s applies to a canary",
			ErrInvalid, p.m.Name, p.m.State, p.m.Active, what)
	case p.m.Moving:
		return fmt.Errorf("%w: %s is changing its canary share; %s refused until that completes", ErrConflict, p.m.Name, what)
	case p.canary == nil:
		return fmt.Errorf("%w: %s has no strategy.canary configured", ErrInvalid, p.m.Name)
	}
	return nil
}

// share is the canary's current share in percent.
func (p *plan) share() int {
	if p.canary == nil || p.m.Canary.Stable == "" {
		return 0
	}
	return p.canary.Steps[min(p.m.Canary.Step, len(p.canary.Steps)-1)]
}

// canaryMoved applies the target's answer to a share decision: on success
// the machine takes the step (a new watch: each step is judged on its own
// requests), on failure it stays where it was and the next verdict tries
// again.
func (p *plan) canaryMoved(in weighted) {
	d := in.d
	p.m.Moving = false
	pct, step := int(d.Snapshot[snapPercent]), int(d.Snapshot[snapStep])
	if in.err != nil {
		p.do(finishDecision{id: d.ID, status: store.DecisionFailed, result: in.err.Error()})
		p.note(slog.LevelError, "setting the canary share failed", "action", d.Action, "canary", d.ToVersion,
			"percent", pct, "err", in.err)
		return // the executor returns the error to the command
	}
	p.do(finishDecision{id: d.ID, status: store.DecisionDone, result: fmt.Sprintf("%s at %d%%, %s on the rest", d.ToVersion, pct, d.FromVersion)})
	switch {
	case pct == 0: // abort
		p.watch(d.FromVersion)
		p.m.Canary = store.Canary{}
		p.to(StateStable, d.Reason)
		p.do(route{op: routeFallback, version: p.m.fallbackFor(d.FromVersion)})
	case pct == 100: // the last step, or promote
		p.watch(d.ToVersion)
		p.m.Canary = store.Canary{}
		p.to(StateWatching, d.Reason)
		p.do(route{op: routeFallback, version: p.m.fallbackFor(d.ToVersion)})
	default:
		if p.m.State != StateCanary || p.m.Active != d.ToVersion {
			p.m.Canary = store.Canary{Stable: d.FromVersion, Since: p.now}
			p.m.IncidentID, p.m.Fallbacks, p.m.Raised = "", 0, nil
		}
		p.m.Canary.Step = step
		p.watch(d.ToVersion)
		p.to(StateCanary, d.Reason)
		p.do(route{op: routeFallback, version: d.FromVersion})
	}
	p.note(slog.LevelInfo, "canary share set", "canary", d.ToVersion, "stable", d.FromVersion, "percent", pct)
	p.do(save{must: true})
}

// recoverShare re-sets the share of a canary decision a crash left
// pending (the target's SetWeight is idempotent).
func (p *plan) recoverShare(d store.Decision) {
	p.note(slog.LevelWarn, "completing canary decision interrupted by restart", "decision", d.ID, "action", d.Action,
		"canary", d.ToVersion, "percent", d.Snapshot[snapPercent])
	p.m.Moving = true
	p.do(targetWeight{d: &d})
}
