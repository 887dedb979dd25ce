package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// apply runs the step on the service's machine and carries out its effects.
// Called with s.mu held. It returns the ID of the incident the first pass
// opened, if any (a manual rollback's).
func (s *Service) apply(ctx context.Context, in input, now time.Time) (string, error) {
	next, fx, err := stepStrategy(s.m, in, now, s.cfg.Policy, s.cfg.Strategy)
	if err != nil {
		if errors.Is(err, errTransition) {
			s.log.Error("step refused", "input", fmt.Sprintf("%T", in), "err", err)
		}
		return "", err
	}
	return s.exec(ctx, next, fx)
}

// executor carries out one pass of effects on a working machine.
type executor struct {
	s   *Service
	ctx context.Context
	w   machine
	// opened and dec are what this pass created, for effects that refer to
	// them (openedIncident, a revert of the decision just recorded).
	opened    string
	dec       store.Decision
	recordErr error // the store refused the decision this pass recorded
}

// errAbandoned stops a pass where a crash would (Hooks.AfterDecision).
var errAbandoned = errors.New("controller: abandoned after decision")

// errUnfinished stops a pass whose decision could not be finished in the
// store: going on would leave the decision pending for ever while the
// machine moved on (a database restart after the switch lost the
// incident's rollback_done and the decision's outcome, until some later
// restart). The machine stays as it was (reverting) and Run completes the
// decision as a restart would (finishUnfinished).
var errUnfinished = errors.New("controller: decision not finished")

// exec carries out fx in order against w, with s.mu held, and makes w the
// service's machine. A failing effect marked must stops the pass and leaves
// the machine as it was (the command reports the error) — except a save:
// what it failed to persist (a switch) has happened, so the pass goes on,
// the machine is kept and the command reports the failed save. Any other
// failure is logged and the pass goes on, because the guard must keep
// guarding.
func (s *Service) exec(ctx context.Context, w machine, fx []effect) (string, error) {
	x := &executor{s: s, ctx: ctx, w: w}
	var saveErr error
	for _, e := range fx {
		if r, ok := e.(targetRevert); ok {
			return x.opened, x.revert(r)
		}
		if r, ok := e.(targetWeight); ok {
			return x.opened, x.weight(r)
		}
		err := x.do(e)
		if _, isSave := e.(save); isSave && err != nil {
			saveErr = cmp.Or(saveErr, err)
			continue
		}
		if errors.Is(err, errAbandoned) {
			break
		}
		if errors.Is(err, errUnfinished) {
			s.unfinished = true
			return x.opened, err
		}
		if err != nil {
			return "", err
		}
	}
	s.setMachine(x.w)
	return x.opened, saveErr
}

func (x *executor) do(e effect) error {
	s, ctx := x.s, x.ctx
	switch e := e.(type) {
	case transition:
		s.log.Info("state changed", "from", e.from, "to", e.to, "reason", e.reason)
	case note:
		s.log.Log(ctx, e.level, e.msg, e.args...)
	case save:
		if err := s.deps.Store.SaveService(ctx, x.w.persisted(s.deps.Now())); err != nil {
			return x.failed(e.must, fmt.Errorf("controller: save %s: %w", s.cfg.Name, err), "saving state failed")
		}
	case openIncident:
		return x.open(e)
	case changeIncident:
		x.change(e)
	case recordDecision:
		x.record(e)
	case linkDecision:
		id := e.id
		if id == 0 {
			id = x.dec.ID
		}
		if inc := x.ref(e.inc); id != 0 && inc != "" {
			if err := s.deps.Store.LinkDecision(ctx, id, inc); err != nil {
				s.log.Error("linking decision to its incident failed", "decision", id, "incident", inc, "err", err)
			}
		}
	case afterDecision:
		if h := s.deps.Hooks.AfterDecision; h != nil {
			if err := h(x.dec); err != nil {
				s.log.Warn("action abandoned after decision", "decision", x.dec.ID, "err", err)
				return errAbandoned
			}
		}
	case afterIncident:
		if h := s.deps.Hooks.AfterIncident; h != nil {
			h(e.d)
		}
	case finishDecision:
		if e.last {
			e.id = x.dec.ID
		}
		if e.id != 0 {
			if err := s.deps.Store.FinishDecision(ctx, e.id, e.status, e.result, s.deps.Now()); err != nil {
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAlreadyFinished) {
					s.log.Error("finishing decision failed", "decision", e.id, "err", err)
					return nil
				}
				s.log.Error("finishing decision failed; completing it when the store answers", "decision", e.id, "err", err)
				return fmt.Errorf("%w: %d: %w", errUnfinished, e.id, err)
			}
		}
	case route:
		return x.route(e)
	case recordDeployment:
		if _, err := s.deps.Store.RecordDeployment(ctx, e.d); err != nil {
			return fmt.Errorf("controller: record deployment: %w", err)
		}
	case count:
		if e.rollback {
			s.deps.Metrics.rollback(s.cfg.Name)
		} else {
			s.deps.Metrics.decision(s.cfg.Name, e.decision)
		}
	default:
		return fmt.Errorf("controller: unknown effect %T", e)
	}
	return nil
}

// failed returns err for a must effect and logs it otherwise.
func (x *executor) failed(must bool, err error, msg string) error {
	if must {
		return err
	}
	x.s.log.Error(msg, "err", err)
	return nil
}

func (x *executor) ref(r incRef) string {
	switch {
	case r.chain:
		return x.w.IncidentID
	case r.opened:
		return x.opened
	}
	return r.id
}

func (x *executor) open(e openIncident) error {
	s := x.s
	id, err := s.deps.Store.CreateIncident(x.ctx, e.inc)
	if err != nil {
		return x.failed(e.must, fmt.Errorf("controller: create incident: %w", err), "opening incident failed")
	}
	x.opened = id
	switch e.slot {
	case slotChain:
		x.w.IncidentID = id
	case slotBlind:
		x.w.BlindIncident = id
	case slotSuspect:
		x.w.SuspectIncident = id
	}
	s.deps.Wake()
	s.log.Info("incident opened", "incident", id, "severity", e.inc.Severity, "kind", e.inc.Kind, "reason", e.inc.Reason)
	return nil
}

// change applies an incident change inside one store transaction, to the
// incident as it is then, and announces a status move on its timeline.
func (x *executor) change(e changeIncident) {
	s, id := x.s, x.ref(e.ref)
	if id == "" || len(e.events) == 0 {
		return
	}
	var err error
	if e.change.zero() {
		for _, ev := range e.events {
			if err = s.deps.Store.AppendEvent(x.ctx, id, ev); err != nil {
				break
			}
		}
	} else {
		first := e.events[0]
		err = s.deps.Store.UpdateIncident(x.ctx, id, func(inc *incident.Incident) error {
			before := inc.Status
			e.change.apply(inc, first.At)
			inc.UpdatedAt = first.At
			if inc.Status != before {
				inc.Events = append(inc.Events, incident.Event{At: first.At, Type: incident.EvStatus, Actor: first.Actor,
					Message: fmt.Sprintf("status %s → %s", before, inc.Status),
					Data:    map[string]any{"from": string(before), "to": string(inc.Status)}})
			}
			return nil
		}, e.events...)
	}
	if err != nil {
		s.log.Error("updating incident failed", "incident", id, "type", e.events[0].Type, "err", err)
	}
	s.deps.Wake()
}

// record stores a decision before its action, with the machine (now
// reverting) in the same transaction. Acting without a record would break
// "resume exactly once"; acting not at all would leave users on a bad
// version. Users come first: the action goes ahead (the state saved on its
// own, if the store takes that), and the timeline says the record is
// missing — the incident's, or for an automatic rollback, whose incident
// opens after the switch, that one's (reverted.recordErr).
func (x *executor) record(e recordDecision) {
	s, d := x.s, e.d
	d.IncidentID = x.ref(e.inc)
	id, err := s.deps.Store.Decide(x.ctx, d, x.w.persisted(s.deps.Now()))
	if err != nil {
		s.log.Error("recording decision failed; acting unrecorded", "err", err)
		x.recordErr = err
		if serr := s.deps.Store.SaveService(x.ctx, x.w.persisted(s.deps.Now())); serr != nil {
			s.log.Error("saving state failed", "err", serr)
		}
		x.change(changeIncident{ref: byID(d.IncidentID), events: []incident.Event{unrecorded(d.CreatedAt, err)}})
	}
	d.ID, d.Status = id, store.DecisionPending
	x.dec = d
}

func unrecorded(at time.Time, err error) incident.Event {
	return incident.Event{At: at, Type: incident.EvDecision, Actor: "ripcord", Message: "decision could not be recorded: " + err.Error()}
}

func (x *executor) route(e route) error {
	r := x.s.deps.Router
	switch e.op {
	case routeRegister:
		if err := r.SetVersion(e.version, e.url); err != nil {
			return x.failed(e.must, fmt.Errorf("%w: version %s: url: %v", ErrInvalid, e.version, err), "registering version failed")
		}
	case routeActivate:
		if _, err := r.Activate(e.version); err != nil {
			return x.failed(e.must, fmt.Errorf("controller: activate %s: %w", e.version, err), "activating version failed")
		}
	case routeFallback:
		r.SetFallback(e.version)
	case routeShadow:
		sh, ok := r.(Shadower)
		if !ok {
			return x.failed(e.must, fmt.Errorf("%w: %s's traffic path cannot copy requests (strategy.shadow needs the built-in switch)", ErrInvalid, x.s.cfg.Name), "starting the shadow failed")
		}
		if err := sh.StartShadow(e.stable, e.version); err != nil {
			return x.failed(e.must, fmt.Errorf("controller: shadow %s: %w", e.version, err), "starting the shadow failed")
		}
	case routeStopShadow:
		if sh, ok := r.(Shadower); ok {
			sh.StopShadow()
		}
	case routeWeight:
		w, err := x.s.weights()
		if err == nil {
			err = w.SetWeight(x.ctx, x.s.cfg.Name, e.stable, e.version, e.percent)
		}
		if err != nil {
			return x.failed(e.must, fmt.Errorf("controller: canary %s at %d%%: %w", e.version, e.percent, err), "setting the canary share failed")
		}
	}
	return nil
}

// weights is the target's canary seam.
func (s *Service) weights() (revert.Weighted, error) {
	if w, ok := s.deps.Target.(revert.Weighted); ok {
		return w, nil
	}
	return nil, fmt.Errorf("%w: %s's target cannot split traffic between two versions (strategy.canary needs the built-in switch or a weighted target)", ErrInvalid, s.cfg.Name)
}

// weight hands a share decision to the target, as revert does a revert:
// the machine (Moving) is the service's while s.mu is released, and the
// outcome goes back through the step. A failed share is the command's
// error (a person's promote or abort hears of it).
func (x *executor) weight(e targetWeight) error {
	s, d := x.s, x.dec
	if e.d != nil {
		d = *e.d
	}
	s.setMachine(x.w)
	w, err := s.weights()
	if err == nil {
		s.mu.Unlock()
		err = w.SetWeight(x.ctx, s.cfg.Name, d.FromVersion, d.ToVersion, int(d.Snapshot[snapPercent]))
		s.mu.Lock()
	}
	_, aerr := s.apply(x.ctx, weighted{d: d, err: err}, s.deps.Now())
	if err != nil {
		return fmt.Errorf("controller: %s %s at %d%%: %w", d.Action, d.ToVersion, int(d.Snapshot[snapPercent]), err)
	}
	return aerr
}

// revert hands a decision to the target. The machine (now reverting) is
// made the service's before s.mu is released, so every writer that comes
// meanwhile sees the revert in flight: evaluations skip, deploy, resume and
// rollback are refused, pause is recorded. The target's answer goes back
// through the step.
func (x *executor) revert(e targetRevert) error {
	s, d := x.s, x.dec
	if e.d != nil {
		d = *e.d
	}
	s.setMachine(x.w)
	s.mu.Unlock()
	res, err := s.deps.Target.Revert(x.ctx, revert.Request{Service: s.cfg.Name, From: d.FromVersion, To: d.ToVersion,
		Reason: d.Reason, DryRun: d.Action == ActionDryRun, DecisionID: d.ID})
	if h := s.deps.Hooks.AfterSwitch; h != nil && err == nil {
		h(d)
	}
	s.mu.Lock()
	_, aerr := s.apply(x.ctx, reverted{d: d, res: res, err: err, verdict: e.verdict, recordErr: x.recordErr}, s.deps.Now())
	return aerr
}
