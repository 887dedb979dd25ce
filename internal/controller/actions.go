package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// onBad handles a confirmed Degraded verdict on a watching or stable version.
func (s *Service) onBad(ctx context.Context, now time.Time, r detect.Result) {
	from := s.st.Active
	to := s.fallbackFor(from)
	switch {
	case s.st.Paused:
		s.raiseOnce(ctx, now, r, incident.Major, "automation is paused, nothing was reverted")
	case to == "":
		// Nothing automatic can help: page a person and stop acting, as when
		// a fallback chain runs out.
		id, err := s.openIncident(ctx, now, incident.Incident{Service: s.cfg.Name, Kind: incident.KindEscalation,
			Severity: incident.Critical, Title: fmt.Sprintf("%s: %s is bad and no older healthy version exists", s.cfg.Name, from),
			Reason: r.Reason, FromVersion: from, ImpactStartedAt: s.st.WatchSince, DetectedAt: now}, detectedEvent(now, r))
		if err != nil {
			s.log.Error("opening incident failed", "err", err)
		}
		s.st.IncidentID = id
		s.escalate(ctx, now, "no older healthy version of "+s.cfg.Name+" to revert to: "+r.Reason)
	case now.Before(s.st.CooldownUntil):
		s.raiseOnce(ctx, now, r, incident.Major, "automatic rollback suppressed by cooldown until "+s.st.CooldownUntil.UTC().Format(time.RFC3339))
	default:
		sev, recent := s.rollbackSeverity(ctx, now)
		inc := incident.Incident{
			Service: s.cfg.Name, Kind: incident.KindRollback, Severity: sev,
			Title:       fmt.Sprintf("%s: automatic rollback %s → %s", s.cfg.Name, from, to),
			Reason:      r.Reason,
			FromVersion: from, ToVersion: to,
			ImpactStartedAt: s.st.WatchSince, DetectedAt: now,
		}
		evs := []incident.Event{detectedEvent(now, r)}
		if recent >= frequentRollbacks {
			evs = append(evs, incident.Event{At: now, Type: incident.EvNote, Actor: "ripcord",
				Message: fmt.Sprintf("%d rollbacks of %s in 7 days: severity raised to %s; the service is unstable", recent, s.cfg.Name, sev)})
		}
		id, err := s.openIncident(ctx, now, inc, evs...)
		if err != nil {
			s.log.Error("opening incident failed; reverting anyway", "err", err)
		}
		s.revertTo(ctx, now, "rollback", from, to, r, id)
	}
}

// fallback handles a version that a revert moved to and that is bad too.
func (s *Service) fallback(ctx context.Context, now time.Time, r detect.Result) {
	from := s.st.Active
	to := s.fallbackFor(from)
	s.event(ctx, s.st.IncidentID, detectedEvent(now, r))
	if to == "" || s.st.Fallbacks >= s.cfg.Policy.MaxFallback {
		s.escalate(ctx, now, fmt.Sprintf("fallback chain exhausted after %d step(s): %s is bad too: %s", s.st.Fallbacks, from, r.Reason))
		return
	}
	s.event(ctx, s.st.IncidentID, incident.Event{At: now, Type: incident.EvFallback, Actor: "ripcord",
		Message: fmt.Sprintf("%s is bad too; falling back to %s", from, to)})
	s.revertTo(ctx, now, "fallback", from, to, r, s.st.IncidentID)
}

// revertTo records the decision, then acts on it.
func (s *Service) revertTo(ctx context.Context, now time.Time, action, from, to string, r detect.Result, incID string) {
	d := store.Decision{
		Service: s.cfg.Name, Action: action, FromVersion: from, ToVersion: to,
		Reason: r.Reason, IncidentID: incID, Snapshot: snapshot(r), CreatedAt: now,
	}
	id, err := s.deps.Store.RecordDecision(ctx, d)
	if err != nil {
		// Acting without a record would break "resume exactly once"; acting
		// not at all would leave users on a bad version. Users come first:
		// revert, and say on the timeline that the record is missing.
		s.log.Error("recording decision failed; reverting unrecorded", "err", err)
		s.event(ctx, incID, incident.Event{At: now, Type: incident.EvDecision, Actor: "ripcord", Message: "decision could not be recorded: " + err.Error()})
	}
	d.ID, d.Status = id, store.DecisionPending
	s.st.State, s.st.IncidentID = StateReverting, incID
	s.saveLogged(ctx)
	s.deps.Metrics.decision(s.cfg.Name, action)
	if h := s.deps.Hooks.AfterDecision; h != nil {
		if err := h(d); err != nil {
			s.log.Warn("action abandoned after decision", "decision", d.ID, "err", err)
			return
		}
	}
	s.execute(ctx, d)
}

// execute performs a recorded decision. It is idempotent, which is what makes
// recovery after a crash safe.
func (s *Service) execute(ctx context.Context, d store.Decision) {
	now := s.deps.Now()
	s.updateIncident(ctx, d.IncidentID, func(i *incident.Incident) {
		if i.RollbackStartedAt.IsZero() {
			i.RollbackStartedAt = now
		}
	}, incident.Event{At: now, Type: incident.EvRollbackStarted, Actor: "ripcord",
		Message: fmt.Sprintf("switching %s → %s", d.FromVersion, d.ToVersion)})
	// A revert may wait for a rollout (Kubernetes) for minutes: let the API
	// read status meanwhile. Ticks skip a service in StateReverting, and
	// Rollback refuses, so nothing else acts on it until this returns.
	s.mu.Unlock()
	res, err := s.deps.Target.Revert(ctx, revert.Request{Service: s.cfg.Name, From: d.FromVersion, To: d.ToVersion, Reason: d.Reason})
	s.mu.Lock()
	done := s.deps.Now()
	if err != nil {
		s.finish(ctx, d, store.DecisionFailed, err.Error(), done)
		s.event(ctx, d.IncidentID, incident.Event{At: done, Type: incident.EvRollbackFailed, Actor: "ripcord", Message: err.Error()})
		s.escalate(ctx, done, fmt.Sprintf("revert %s → %s failed: %v", d.FromVersion, d.ToVersion, err))
		return
	}
	s.finish(ctx, d, store.DecisionDone, fmt.Sprintf("switched %s → %s in %s", d.FromVersion, d.ToVersion, res.Duration), done)
	s.markBad(d.FromVersion, d.Reason)
	s.st.Active, s.st.WatchSince, s.st.State = d.ToVersion, done, StateVerifying
	s.st.CooldownUntil = done.Add(s.cfg.Policy.Cooldown)
	s.st.Fallbacks++
	s.streak = detect.Streak{}
	s.deps.Router.SetFallback(s.fallbackFor(d.ToVersion))
	s.saveLogged(ctx)
	s.deps.Metrics.rollback(s.cfg.Name)
	s.log.Info("reverted", "from", d.FromVersion, "to", d.ToVersion, "took", res.Duration, "reason", d.Reason)
	s.updateIncident(ctx, d.IncidentID, func(i *incident.Incident) {
		if i.Status == incident.Investigating {
			i.Status = incident.Identified
		}
		i.ToVersion = d.ToVersion
	}, incident.Event{At: done, Type: incident.EvRollbackDone, Actor: "ripcord",
		Message: fmt.Sprintf("traffic on %s (switch took %s); verifying for %s", d.ToVersion, res.Duration, s.cfg.Policy.Verify),
		Data:    map[string]any{"from": d.FromVersion, "to": d.ToVersion, "switch_ns": res.Duration.Nanoseconds()}})
}

func (s *Service) finish(ctx context.Context, d store.Decision, status, result string, at time.Time) {
	if d.ID == 0 {
		return
	}
	if err := s.deps.Store.FinishDecision(ctx, d.ID, status, result, at); err != nil {
		s.log.Error("finishing decision failed", "decision", d.ID, "err", err)
	}
}

// escalate stops automation for the service and pages a person.
func (s *Service) escalate(ctx context.Context, now time.Time, why string) {
	s.st.State, s.st.Paused = StateEscalated, true
	s.saveLogged(ctx)
	s.deps.Metrics.decision(s.cfg.Name, "escalate")
	s.log.Error("escalated: automation paused", "why", why)
	id := s.st.IncidentID
	if id == "" {
		var err error
		id, err = s.openIncident(ctx, now, incident.Incident{Service: s.cfg.Name, Kind: incident.KindEscalation,
			Severity: incident.Critical, Title: s.cfg.Name + ": escalated, automation paused", Reason: why,
			FromVersion: s.st.Active, DetectedAt: now})
		if err != nil {
			s.log.Error("opening escalation incident failed", "err", err)
		}
		s.st.IncidentID = id
		s.saveLogged(ctx)
	}
	s.updateIncident(ctx, id, func(i *incident.Incident) {
		i.Severity = incident.Critical
		i.Status = incident.Investigating
	}, incident.Event{At: now, Type: incident.EvEscalated, Actor: "ripcord",
		Message: why + "; automation paused until `ripcord resume " + s.cfg.Name + "`"})
}

// stabilise ends a verification: the service is stable on its active version.
func (s *Service) stabilise(ctx context.Context, now time.Time, r detect.Result, msg string) {
	id := s.st.IncidentID
	s.st.State, s.st.IncidentID, s.st.Fallbacks = StateStable, "", 0
	s.saveLogged(ctx)
	s.log.Info("stable", "version", s.st.Active)
	s.updateIncident(ctx, id, func(i *incident.Incident) {
		if i.Status == incident.Investigating || i.Status == incident.Identified {
			i.Status = incident.Monitoring
		}
		i.MitigatedAt = now
	}, incident.Event{At: now, Type: incident.EvVerified, Actor: "ripcord", Message: msg, Data: map[string]any{"snapshot": snapshot(r)}})
}

// raiseOnce opens an incident for a bad version ripcord will not revert.
func (s *Service) raiseOnce(ctx context.Context, now time.Time, r detect.Result, sev incident.Severity, why string) {
	key := s.st.Active + "|" + why
	if _, done := s.raised[key]; done {
		return
	}
	id, err := s.openIncident(ctx, now, incident.Incident{Service: s.cfg.Name, Kind: incident.KindDegraded, Severity: sev,
		Title: fmt.Sprintf("%s: %s is degraded, not reverted", s.cfg.Name, s.st.Active), Reason: r.Reason,
		FromVersion: s.st.Active, ImpactStartedAt: s.st.WatchSince, DetectedAt: now},
		detectedEvent(now, r), incident.Event{At: now, Type: incident.EvSuppressed, Actor: "ripcord", Message: why})
	if err != nil {
		s.log.Error("opening incident failed", "err", err)
		return
	}
	s.raised[key] = id
	s.log.Warn("degraded, not reverted", "version", s.st.Active, "why", why, "incident", id)
}

// trackBlind opens a "flying blind" incident when signals stay missing past
// the grace period, and resolves it when they return.
func (s *Service) trackBlind(ctx context.Context, now time.Time, r detect.Result) {
	if r.Verdict != detect.Blind {
		if s.blindIncID != "" {
			s.updateIncident(ctx, s.blindIncID, func(i *incident.Incident) { i.Status, i.ResolvedAt = incident.Resolved, now },
				incident.Event{At: now, Type: incident.EvDataReturned, Actor: "ripcord", Message: "signals are back after " + now.Sub(s.blindSince).Round(time.Second).String()})
			s.blindIncID = ""
		}
		s.blindSince = time.Time{}
		return
	}
	if s.blindSince.IsZero() {
		s.blindSince = now
	}
	if s.blindIncID != "" || now.Sub(s.blindSince) < s.cfg.Policy.BlindGrace {
		return
	}
	id, err := s.openIncident(ctx, now, incident.Incident{Service: s.cfg.Name, Kind: incident.KindBlind, Severity: incident.Minor,
		Title: s.cfg.Name + ": flying blind", Reason: r.Reason, FromVersion: s.st.Active,
		ImpactStartedAt: s.blindSince, DetectedAt: now})
	if err != nil {
		s.log.Error("opening blind incident failed", "err", err)
		return
	}
	s.blindIncID = id
	s.log.Warn("flying blind: signals missing, no rollback will be taken on missing data", "since", s.blindSince, "reason", r.Reason)
}

func (s *Service) markBad(version, why string) {
	if i := findVersion(s.st.Versions, version); i >= 0 {
		s.st.Versions[i].KnownBad, s.st.Versions[i].BadReason = true, why
	}
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

// frequentRollbacks in 7 days (this one included) make a rollback critical:
// one bad deploy is routine, a pattern needs a person (the seed: frequent
// rollbacks indicate instability).
const frequentRollbacks = 3

// rollbackSeverity is major, or critical when this would be the
// frequentRollbacks-th automatic rollback of the service in 7 days. It also
// returns that count.
func (s *Service) rollbackSeverity(ctx context.Context, now time.Time) (incident.Severity, int) {
	incs, err := s.deps.Store.ListIncidents(ctx, store.IncidentFilter{Service: s.cfg.Name, Kind: incident.KindRollback, Limit: 100})
	if err != nil {
		s.log.Warn("counting recent rollbacks failed", "err", err)
		return incident.Major, 1
	}
	n := 1
	for _, i := range incs {
		if now.Sub(i.CreatedAt) <= 7*24*time.Hour {
			n++
		}
	}
	if n >= frequentRollbacks {
		return incident.Critical, n
	}
	return incident.Major, n
}
