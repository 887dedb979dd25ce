package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// ErrInvalid marks a command refused because of its arguments (HTTP 400/409).
var ErrInvalid = errors.New("invalid request")

// Deploy adds (when url is given) and activates version, and starts watching
// it. Deploying a known-bad version is a person's explicit choice and clears
// the mark.
func (s *Service) Deploy(ctx context.Context, version, url, actor string) error {
	if s.deps.External {
		return fmt.Errorf("%w: %s is deployed in Kubernetes; ripcord notices rollouts there by itself", ErrInvalid, s.cfg.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deploy(ctx, version, url, actor)
}

// Observed starts watching a version someone else deployed (a Kubernetes
// rollout the watcher saw). ripcord's own reverts show up as rollouts too;
// they are recognised by their change-cause, or by naming the version
// already active, and ignored.
func (s *Service) Observed(ctx context.Context, version, image, changeCause string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(changeCause, "ripcord:") || version == s.st.Active || s.st.State == StateReverting {
		return
	}
	if err := s.deploy(ctx, version, image, "kubernetes"); err != nil {
		s.log.Error("watching a new rollout failed", "version", version, "err", err)
	}
}

// SetProgress records how a revert in flight is doing, for status.
func (s *Service) SetProgress(text string) {
	s.progress.Store(&text)
}

// deploy is Deploy with s.mu held.
func (s *Service) deploy(ctx context.Context, version, url, actor string) error {
	now := s.deps.Now()
	i := findVersion(s.st.Versions, version)
	if i < 0 && url == "" {
		return fmt.Errorf("%w: version %q is new to %s: give its --url", ErrInvalid, version, s.cfg.Name)
	}
	if url != "" {
		if err := s.deps.Router.SetVersion(version, url); err != nil {
			return fmt.Errorf("%w: url: %v", ErrInvalid, err)
		}
		if i < 0 {
			s.st.Versions = append(s.st.Versions, store.Version{Name: version, URL: url, AddedAt: now})
			i = len(s.st.Versions) - 1
		}
		s.st.Versions[i].URL = url
	}
	s.st.Versions[i].KnownBad, s.st.Versions[i].BadReason = false, ""
	if _, err := s.deps.Store.RecordDeployment(ctx, store.Deployment{Service: s.cfg.Name, Version: version,
		URL: s.st.Versions[i].URL, Actor: actor, At: now}); err != nil {
		return fmt.Errorf("controller: record deployment: %w", err)
	}
	if _, err := s.deps.Router.Activate(version); err != nil {
		return fmt.Errorf("controller: activate %s: %w", version, err)
	}
	s.st.Active, s.st.WatchSince, s.st.State = version, now, StateWatching
	s.st.IncidentID, s.st.Fallbacks = "", 0
	s.streak, s.raised = detect.Streak{}, map[string]string{}
	s.deps.Router.SetFallback(s.fallbackFor(version))
	s.log.Info("deployed", "version", version, "actor", actor)
	return s.save(ctx)
}

// Rollback is a person's revert: to the given version, or the newest older
// healthy one. It ignores cooldown (a person decided) but starts one, and
// marks the version it leaves known-bad.
func (s *Service) Rollback(ctx context.Context, to, reason, actor string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.deps.Now()
	from := s.st.Active
	if to == "" {
		to = s.fallbackFor(from)
	}
	switch {
	case to == "":
		return "", fmt.Errorf("%w: no older healthy version of %s to roll back to; give --to", ErrInvalid, s.cfg.Name)
	case findVersion(s.st.Versions, to) < 0:
		return "", fmt.Errorf("%w: %s has no version %q", ErrInvalid, s.cfg.Name, to)
	case to == from:
		return "", fmt.Errorf("%w: %s is already on %s", ErrInvalid, s.cfg.Name, to)
	case s.st.State == StateReverting:
		return "", fmt.Errorf("%w: a revert of %s is in progress", ErrInvalid, s.cfg.Name)
	}
	if reason == "" {
		reason = "manual rollback by " + actor
	}
	id, err := s.openIncident(ctx, now, incident.Incident{Service: s.cfg.Name, Kind: incident.KindManual, Severity: incident.Minor,
		Title: fmt.Sprintf("%s: manual rollback %s → %s", s.cfg.Name, from, to), Reason: reason,
		FromVersion: from, ToVersion: to, ImpactStartedAt: s.st.WatchSince, DetectedAt: now},
		incident.Event{At: now, Type: incident.EvDecision, Actor: actor, Message: reason})
	if err != nil {
		return "", err
	}
	r := s.last
	r.Reason = reason
	s.st.Fallbacks = 0
	s.revertTo(ctx, now, "manual_rollback", from, to, r, id)
	return id, nil
}

// Pause stops automatic actions; verdicts are still computed and shown.
func (s *Service) Pause(ctx context.Context, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Paused = true
	s.log.Info("paused", "actor", actor)
	return s.save(ctx)
}

// Resume re-enables automation; an escalated service becomes stable on its
// current version and starts a fresh watch.
func (s *Service) Resume(ctx context.Context, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Paused = false
	if s.st.State == StateEscalated {
		s.st.State, s.st.WatchSince = StateStable, s.deps.Now()
		s.st.IncidentID, s.st.Fallbacks = "", 0
		s.streak = detect.Streak{}
	}
	s.log.Info("resumed", "actor", actor)
	return s.save(ctx)
}

// Status is the service as `ripcord status` shows it.
type Status struct {
	Name          string           `json:"name"`
	Active        string           `json:"active"`
	State         string           `json:"state"`
	Paused        bool             `json:"paused"`
	WatchSince    time.Time        `json:"watch_since"`
	CooldownUntil time.Time        `json:"cooldown_until,omitzero"`
	IncidentID    string           `json:"incident_id,omitempty"`
	Fallbacks     int              `json:"fallbacks"`
	Versions      []store.Version  `json:"versions"`
	Verdict       string           `json:"verdict"`
	VerdictAt     time.Time        `json:"verdict_at,omitzero"`
	Reason        string           `json:"reason"`
	Findings      []detect.Finding `json:"findings"`
	// Progress describes a revert in flight (a Kubernetes rollout).
	Progress string `json:"progress,omitempty"`
}

// Status reports the current state and last verdict.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{
		Name: s.cfg.Name, Active: s.st.Active, State: s.st.State, Paused: s.st.Paused,
		WatchSince: s.st.WatchSince, CooldownUntil: s.st.CooldownUntil, IncidentID: s.st.IncidentID,
		Fallbacks: s.st.Fallbacks, Versions: append([]store.Version(nil), s.st.Versions...),
		Verdict: s.last.Verdict.String(), VerdictAt: s.lastAt, Reason: s.last.Reason, Findings: s.last.Findings,
		Progress: s.progressText(),
	}
}

// LiveVersions returns the versions worth probing — the active one and the
// one a revert would go to — by name, with their URLs.
func (s *Service) LiveVersions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, name := range []string{s.st.Active, s.fallbackFor(s.st.Active)} {
		if i := findVersion(s.st.Versions, name); i >= 0 {
			out[name] = s.st.Versions[i].URL
		}
	}
	return out
}

// Policy is the service's configured policy (for reports).
func (s *Service) Policy() config.Policy { return s.cfg.Policy }

func (s *Service) progressText() string {
	if p := s.progress.Load(); p != nil && s.st.State == StateReverting {
		return *p
	}
	return ""
}
