package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

const kindDrill = incident.KindDrill

// drillTick is how often a drill judges its wrapper and checks the real
// version: at most the policy interval, at least every 50 ms.
func (s *Service) drillTick() time.Duration {
	return min(max(s.cfg.Policy.Interval, 5*time.Millisecond), 50*time.Millisecond)
}

// drillRun is one drill in progress.
type drillRun struct {
	s     *Service
	p     drillPlan
	rep   DrillReport
	incID string // the incident's ID
}

func (s *Service) runDrill(ctx context.Context, p drillPlan) (DrillReport, error) {
	now := s.deps.Now()
	d := &drillRun{s: s, p: p, rep: DrillReport{Service: s.cfg.Name, Fault: p.fault.Kind, Version: p.active,
		SharePercent: float64(p.bp) / 100, Drill: true, StartedAt: now, Shadow: p.req.Shadow}}
	on := fmt.Sprintf("%.4g%% of live traffic", d.rep.SharePercent)
	if p.req.Shadow {
		d.rep.SharePercent = 0
		on = "shadow copies of live traffic (no user request)"
	}
	why := fmt.Sprintf("drill by %s: %s fault on %s to %s; expecting the verdict to turn bad and the share to be rolled back",
		p.req.Actor, p.fault.Kind, on, p.active)
	id, err := s.deps.Store.CreateIncident(ctx, incident.Incident{Service: s.cfg.Name, Kind: kindDrill, Severity: incident.Minor,
		Status: incident.Investigating, Title: fmt.Sprintf("%s: drill (%s fault on %s to %s)", s.cfg.Name, p.fault.Kind, on, p.active),
		Reason: why, FromVersion: p.active, ImpactStartedAt: now, CreatedAt: now, UpdatedAt: now,
		Events: []incident.Event{{At: now, Type: incident.EvOpened, Actor: p.req.Actor, Message: why}}})
	if err != nil {
		return DrillReport{}, fmt.Errorf("controller: drill incident: %w", err)
	}
	d.incID, d.rep.IncidentID = id, id
	s.deps.Wake()
	s.log.Info("drill starting", "fault", p.fault.Kind, "basis_points", p.bp, "version", p.active, "incident", id)

	dec, err := d.decide(ctx, ActionDrillStart, p.active, p.active+" (drill share)", why)
	switch {
	case errors.Is(err, errCrashed):
		return DrillReport{}, err
	case err != nil:
		return d.finish(ctx, false, "recording the drill decision failed: "+err.Error())
	}
	wrapper, err := s.deps.Drill.StartDrill(p.active, p.bp, p.fault, p.req.Shadow)
	d.done(ctx, dec, err)
	if err != nil {
		return d.finish(ctx, false, "the switch refused the drill share: "+err.Error())
	}
	start := s.deps.Now()
	d.rep.StartedAt = start
	detected, reason := d.watch(ctx, wrapper, start)
	if detected == nil {
		d.end(ctx, reason)
		return d.finish(ctx, false, reason)
	}
	d.rep.Verdict = detected.Reason
	d.event(ctx, incident.EvDetected, "drill: verdict on the fault wrapper is degraded after "+
		fmt.Sprintf("%.3fs: %s", d.rep.DetectSeconds, detected.Reason))
	dec, err = d.decide(ctx, ActionDrillRollback, p.active+" (drill share)", p.active, "drill: "+detected.Reason)
	if err != nil {
		d.end(ctx, "")
		return d.finish(ctx, false, "recording the drill rollback failed: "+err.Error())
	}
	if ended := d.end(ctx, ""); !ended.IsZero() {
		d.rep.RollbackSeconds = ended.Sub(start).Seconds() - d.rep.DetectSeconds
	}
	d.done(ctx, dec, nil)
	d.event(ctx, incident.EvRollbackDone, fmt.Sprintf("drill: share rolled back %.3fs after the verdict; %d requests affected, %d on %s meanwhile",
		d.rep.RollbackSeconds, d.rep.AffectedRequests, d.rep.LiveRequests, p.active))
	if ok, why := d.verify(ctx); !ok {
		return d.finish(ctx, false, why)
	}
	return d.finish(ctx, true, fmt.Sprintf("passed: %s fault detected in %.3fs, share rolled back in %.3fs, %s verified",
		p.fault.Kind, d.rep.DetectSeconds, d.rep.RollbackSeconds, p.active))
}

// watch judges the wrapper until its verdict is degraded (returned), or
// the drill must stop (nil and why).
func (d *drillRun) watch(ctx context.Context, wrapper string, start time.Time) (*detect.Result, string) {
	s := d.s
	g := detect.NewGuard(d.p.pol, start)
	if t, ok := s.deps.Router.(BoundsTracker); ok {
		t.Track(wrapper, drillBounds(g, d.p.pol))
	}
	timeout := s.cfg.Drills.Timeout
	tick := time.NewTicker(s.drillTick())
	defer tick.Stop()
	var last detect.Result
	var streak int
	var seen int64
	for {
		select {
		case <-ctx.Done():
			return nil, "aborted: the request ended (" + ctx.Err().Error() + ")"
		case <-tick.C:
		}
		now := s.deps.Now()
		if why := d.realTrouble(start); why != "" {
			d.rep.Aborted = true
			return nil, why
		}
		// The whole drill is the window: the wrapper faults every answer
		// from the start, and at a small share the policy's window would
		// hold too few of them for the fixed-window rule.
		ev := s.deps.Signals.observe(ctx, s.log, s.cfg.Name, wrapper, start, now, d.p.pol.Rules, g.Bounds)
		last = g.Observe(now, ev)
		// As for a deploy, only `consecutive` fresh degraded verdicts act.
		switch {
		case last.Verdict != detect.Degraded:
			streak = 0
		case streak == 0 || last.Samples != seen:
			streak++
			seen = last.Samples
		}
		if streak >= max(s.cfg.Policy.Consecutive, 1) {
			d.rep.DetectSeconds = now.Sub(start).Seconds()
			return &last, ""
		}
		if now.Sub(start) > timeout {
			return nil, fmt.Sprintf("failed: the verdict on the fault wrapper did not turn bad within %s (drills.timeout): %s: %s",
				timeout, last.Verdict, last.Reason)
		}
	}
}

// realTrouble is why the drill must stop for the real version's sake, ""
// if it may go on: its verdict turned bad, the service moved on, or the
// share was taken away.
func (d *drillRun) realTrouble(since time.Time) string {
	s := d.s
	s.mu.Lock()
	m, last, at := s.m, s.last, s.lastAt
	s.mu.Unlock()
	if why := s.drill.realBad.Load(); why != nil {
		return fmt.Sprintf("aborted: the real version %s degraded during the drill: %s", d.p.active, *why)
	}
	switch {
	case last.Verdict == detect.Degraded && !at.Before(since):
		return fmt.Sprintf("aborted: the real version %s degraded during the drill: %s", d.p.active, last.Reason)
	case m.Gen != d.p.gen || m.Active != d.p.active:
		return fmt.Sprintf("aborted: %s moved on during the drill (%s on %s)", s.cfg.Name, m.State, m.Active)
	case m.Paused:
		return "aborted: " + s.cfg.Name + " was paused during the drill"
	case !s.deps.Drill.DrillShare():
		return "aborted: the drill share was taken away by a switch of the active version"
	}
	return ""
}

// verify waits for the active version to be judged healthy for
// policy.verify after the share is gone, as a revert's verification does
// (not degraded for 3× verify also passes, noted); a degraded verdict or a
// move fails it.
func (d *drillRun) verify(ctx context.Context) (bool, string) {
	s := d.s
	from := s.deps.Now()
	verify := s.cfg.Policy.Verify
	tick := time.NewTicker(s.drillTick())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, "verification cut short: " + ctx.Err().Error()
		case <-tick.C:
		}
		if a := s.deps.Drill.Active(); a != d.p.active || s.deps.Drill.DrillShare() {
			return false, fmt.Sprintf("failed: after the drill traffic is on %q, want all of it on %s", a, d.p.active)
		}
		if why := d.realTrouble(d.rep.StartedAt); why != "" && why != "aborted: the drill share was taken away by a switch of the active version" {
			d.rep.Aborted = true
			return false, why
		}
		s.mu.Lock()
		last, at := s.last, s.lastAt
		s.mu.Unlock()
		age := s.deps.Now().Sub(from)
		switch {
		case at.Before(from):
		case last.Verdict == detect.Healthy && age >= verify:
			d.event(ctx, incident.EvVerified, fmt.Sprintf("drill: %s healthy for %s after the share was rolled back: %s",
				d.p.active, age.Round(time.Millisecond), last.Reason))
			return true, ""
		case last.Verdict != detect.Degraded && age >= 3*verify:
			d.event(ctx, incident.EvVerified, fmt.Sprintf("drill: verification inconclusive after %s (%s); %s treated as healthy",
				age.Round(time.Millisecond), last.Reason, d.p.active))
			return true, ""
		}
	}
}

// end takes the share away (once), records what it affected, and returns
// when the share went (zero if it could not be ended).
func (d *drillRun) end(ctx context.Context, why string) time.Time {
	c, err := d.s.deps.Drill.EndDrill()
	if err != nil {
		d.s.log.Warn("ending the drill share", "err", err)
		return time.Time{}
	}
	if d.p.req.Shadow {
		// Copies only: the wrapper's answers reached no user.
		d.rep.Copies, d.rep.LiveRequests = c.Affected, c.Live
		return c.EndedAt
	}
	d.rep.AffectedRequests, d.rep.LiveRequests = c.Affected, c.Live
	if c.Affected+c.Live > 0 {
		d.rep.ActualShare = 100 * float64(c.Affected) / float64(c.Affected+c.Live)
	}
	if why != "" {
		d.event(ctx, incident.EvDecision, fmt.Sprintf("drill share ended: %s; %d requests affected", why, c.Affected))
	}
	return c.EndedAt
}

// finish writes the report as the incident's last event and resolves it.
func (d *drillRun) finish(ctx context.Context, passed bool, why string) (DrillReport, error) {
	s := d.s
	now := s.deps.Now()
	d.rep.Passed, d.rep.Reason, d.rep.FinishedAt = passed, why, now
	data := map[string]any{"drill": true, "passed": passed, "aborted": d.rep.Aborted, "fault": d.rep.Fault,
		"detect_seconds": d.rep.DetectSeconds, "rollback_seconds": d.rep.RollbackSeconds,
		"affected_requests": d.rep.AffectedRequests, "live_requests": d.rep.LiveRequests,
		"share_percent": d.rep.SharePercent, "actual_share_percent": d.rep.ActualShare, "shadow": d.rep.Shadow, "copies": d.rep.Copies}
	outcome := "drill failed: "
	if passed {
		outcome = "drill "
	}
	err := s.deps.Store.UpdateIncident(ctx, d.incID, func(inc *incident.Incident) error {
		inc.Status, inc.ResolvedAt = incident.Resolved, now
		if d.rep.DetectSeconds > 0 {
			inc.DetectedAt = d.rep.StartedAt.Add(time.Duration(d.rep.DetectSeconds * float64(time.Second)))
		}
		return nil
	}, incident.Event{At: now, Type: incident.EvStatus, Actor: "ripcord", Message: outcome + why, Data: data})
	if err != nil {
		s.log.Warn("writing the drill report", "incident", d.incID, "err", err)
	}
	s.deps.Wake()
	s.log.Info("drill finished", "passed", passed, "why", why, "incident", d.incID)
	return d.rep, nil
}

func (d *drillRun) event(ctx context.Context, typ, msg string) {
	ev := incident.Event{At: d.s.deps.Now(), Type: typ, Actor: "ripcord", Message: msg, Data: map[string]any{"drill": true}}
	if err := d.s.deps.Store.AppendEvent(ctx, d.incID, ev); err != nil {
		d.s.log.Warn("drill event", "incident", d.incID, "err", err)
	}
	d.s.deps.Wake()
}

// decide records a drill decision before its action, as every action is.
// Hooks.AfterDecision may abandon it there as a crash would (errCrashed).
func (d *drillRun) decide(ctx context.Context, action, from, to, why string) (int64, error) {
	dec := store.Decision{Service: d.s.cfg.Name, Action: action, FromVersion: from,
		ToVersion: to, Reason: why, IncidentID: d.incID, Status: store.DecisionPending, CreatedAt: d.s.deps.Now()}
	id, err := d.s.deps.Store.RecordDecision(ctx, dec)
	if err == nil && d.s.deps.Hooks.AfterDecision != nil {
		dec.ID = id
		if herr := d.s.deps.Hooks.AfterDecision(dec); herr != nil {
			return id, fmt.Errorf("%w: %w", errCrashed, herr)
		}
	}
	return id, err
}

// errCrashed is a test hook standing for a crash right after a decision
// was recorded: nothing more is done, as nothing more would be.
var errCrashed = errors.New("controller: drill abandoned after its decision (test hook)")

func (d *drillRun) done(ctx context.Context, id int64, err error) {
	status, result := store.DecisionDone, "drill share set"
	if err != nil {
		status, result = store.DecisionFailed, err.Error()
	} else if id != 0 && d.rep.AffectedRequests+d.rep.LiveRequests > 0 {
		result = fmt.Sprintf("drill share gone: %d requests affected", d.rep.AffectedRequests)
	}
	if ferr := d.s.deps.Store.FinishDecision(ctx, id, status, result, d.s.deps.Now()); ferr != nil {
		d.s.log.Warn("finishing drill decision", "decision", id, "err", ferr)
	}
}

// finishInterruptedDrill settles a drill decision a crash left pending: the
// drill share lived in the switch's memory only, so it ended with the
// process; the decision is failed and the drill's incident closed.
func (s *Service) finishInterruptedDrill(ctx context.Context, d store.Decision) error {
	now := s.deps.Now()
	why := "ripcord restarted during the drill: the drill share ended with the process"
	if err := s.deps.Store.FinishDecision(ctx, d.ID, store.DecisionFailed, why, now); err != nil {
		return fmt.Errorf("controller: interrupted drill decision %d: %w", d.ID, err)
	}
	if d.IncidentID == "" {
		return nil
	}
	return s.deps.Store.UpdateIncident(ctx, d.IncidentID, func(inc *incident.Incident) error {
		if inc.Status != incident.Resolved {
			inc.Status, inc.ResolvedAt = incident.Resolved, now
		}
		return nil
	}, incident.Event{At: now, Type: incident.EvStatus, Actor: "ripcord", Message: "drill failed: " + why,
		Data: map[string]any{"drill": true, "passed": false}})
}
