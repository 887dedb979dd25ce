package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/store"
)

// Deploy adds (when url is given) and activates version, and starts watching
// it. Deploying a known-bad version is a person's explicit choice and clears
// the mark. It is refused (ErrConflict) while a revert is in flight.
func (s *Service) Deploy(ctx context.Context, version, url, actor string) error {
	if s.deps.External && !s.weightsCanary(url) {
		return fmt.Errorf("%w: %s is deployed outside ripcord (Kubernetes, a model registry); ripcord notices new versions there by itself", ErrInvalid, s.cfg.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.apply(ctx, deployCmd{version: version, url: url, actor: actor}, s.deps.Now())
	return err
}

// weightsCanary reports whether a deploy of a known version may go through
// a target outside ripcord: a canary whose steps are the target's weights
// (an HTTPRoute), where deploying means starting the steps toward a
// version the target already routes to.
func (s *Service) weightsCanary(url string) bool {
	_, weighted := s.deps.Target.(revert.Weighted)
	return weighted && url == "" && s.cfg.Strategy.Canary != nil
}

// Observed starts watching a version someone else deployed (a Kubernetes
// rollout the watcher saw); ripcord's own reverts are recognised and ignored.
func (s *Service) Observed(ctx context.Context, version, image, changeCause string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.apply(ctx, observedCmd{version: version, image: image, changeCause: changeCause}, s.deps.Now()); err != nil {
		s.log.Error("watching a new rollout failed", "version", version, "err", err)
	}
}

// ObservedBy starts watching a version that source (a model registry such
// as mlflow) made live without ripcord; versions new to the service are
// added by name.
func (s *Service) ObservedBy(ctx context.Context, source, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.apply(ctx, observedCmd{version: version, actor: source}, s.deps.Now()); err != nil {
		s.log.Error("watching a new version failed", "version", version, "source", source, "err", err)
	}
}

// SetProgress records how a revert in flight is doing, for status.
func (s *Service) SetProgress(text string) {
	s.progress.Store(&text)
}

// Rollback is a person's revert: to the given version, or the newest older
// healthy one. It ignores cooldown (a person decided) but starts one, and
// marks the version it leaves known-bad. It returns the incident it opened,
// once the revert has completed.
func (s *Service) Rollback(ctx context.Context, to, reason, actor string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply(ctx, rollbackCmd{to: to, reason: reason, actor: actor, last: s.last}, s.deps.Now())
}

// Promote skips a canary's remaining steps: the canary takes all traffic
// and is watched from then on as a blue-green deploy.
func (s *Service) Promote(ctx context.Context, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.apply(ctx, promoteCmd{actor: actor}, s.deps.Now())
	return err
}

// Abort sends a canary's traffic back to the stable version without
// marking the canary known-bad or opening an incident; the decision trace
// records who and why.
func (s *Service) Abort(ctx context.Context, reason, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.apply(ctx, abortCmd{reason: reason, actor: actor}, s.deps.Now())
	return err
}

// Pause stops automatic actions; verdicts are still computed and shown. It
// is always accepted: during a revert it takes effect once the revert
// completes (nothing automatic follows it).
func (s *Service) Pause(ctx context.Context, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.apply(ctx, pauseCmd{actor: actor}, s.deps.Now())
	return err
}

// Resume re-enables automation; an escalated service becomes stable on its
// current version and starts a fresh watch.
func (s *Service) Resume(ctx context.Context, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.apply(ctx, resumeCmd{actor: actor}, s.deps.Now())
	return err
}

// Status is the service as `ripcord status` shows it.
type Status struct {
	Name          string           `json:"name"`
	Active        string           `json:"active"`
	State         State            `json:"state"`
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
	// Canary is the canary in progress, if any (Active is the canary).
	Canary *CanaryStatus `json:"canary,omitempty"`
	// Drillable: behind the built-in switch, so `ripcord drill` applies;
	// Drilling: a drill is running now.
	Drillable bool `json:"drillable"`
	Drilling  bool `json:"drilling,omitempty"`
	// Shadow is the shadow phase in progress, if any (Active is the
	// version in shadow; no user is on it).
	Shadow *ShadowStatus `json:"shadow,omitempty"`
}

// ShadowStatus is where a shadow stands: what the switch did with live
// requests (mirrored, dropped, compared…); the verdict on the copies'
// answers is the status's verdict and findings.
type ShadowStatus struct {
	Stable   string           `json:"stable"`
	Since    time.Time        `json:"since"`
	Duration string           `json:"duration"`
	Percent  int              `json:"percent"`
	Methods  []string         `json:"methods"`
	Counts   map[string]int64 `json:"counts,omitempty"`
}

// ShadowCounter is a router that counts what its shadow did (the built-in
// switch): mirrored, sent, dropped, too_large, skipped, compared,
// mismatched.
type ShadowCounter interface {
	ShadowCounts() map[string]int64
}

// CanaryStatus is where a canary stands; the evidence about it is the
// status's verdict and findings.
type CanaryStatus struct {
	Stable    string    `json:"stable"`
	Step      int       `json:"step"` // 1-based, of len(Steps)
	Steps     []int     `json:"steps"`
	Percent   int       `json:"percent"`
	Since     time.Time `json:"since"`
	StepSince time.Time `json:"step_since"`
	MinStep   string    `json:"min_step"`
	MaxStep   string    `json:"max_step"`
}

// Status reports the current state and last verdict.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{
		Name: s.cfg.Name, Active: s.m.Active, State: s.m.State, Paused: s.m.Paused,
		WatchSince: s.m.WatchSince, CooldownUntil: s.m.CooldownUntil, IncidentID: s.m.IncidentID,
		Fallbacks: s.m.Fallbacks, Versions: append([]store.Version(nil), s.m.Versions...),
		Verdict: s.last.Verdict.String(), VerdictAt: s.lastAt, Reason: s.last.Reason, Findings: s.last.Findings,
		Progress: s.progressText(), Canary: s.canaryStatus(), Shadow: s.shadowStatus(),
		Drillable: s.deps.Drill != nil, Drilling: s.drill.running.Load(),
	}
}

func (s *Service) shadowStatus() *ShadowStatus {
	sh := s.cfg.Strategy.Shadow
	if s.m.State != StateShadowing || sh == nil {
		return nil
	}
	st := &ShadowStatus{Stable: s.m.Canary.Stable, Since: s.m.Canary.Since, Duration: sh.Duration.String(),
		Percent: sh.Percent, Methods: slices.Clone(sh.Methods)}
	if c, ok := s.deps.Router.(ShadowCounter); ok {
		st.Counts = c.ShadowCounts()
	}
	return st
}

func (s *Service) canaryStatus() *CanaryStatus {
	c := s.cfg.Strategy.Canary
	if s.m.State != StateCanary || c == nil || s.m.Canary.Step >= len(c.Steps) {
		return nil
	}
	return &CanaryStatus{Stable: s.m.Canary.Stable, Step: s.m.Canary.Step + 1, Steps: append([]int(nil), c.Steps...),
		Percent: c.Steps[s.m.Canary.Step], Since: s.m.Canary.Since, StepSince: s.m.WatchSince,
		MinStep: c.MinStep.String(), MaxStep: c.MaxStep.String()}
}

// LiveVersions returns the versions worth probing — the active one and the
// one a revert would go to — by name, with their URLs.
func (s *Service) LiveVersions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, name := range []string{s.m.Active, s.m.fallbackFor(s.m.Active), s.m.Canary.Stable} {
		if i := findVersion(s.m.Versions, name); i >= 0 {
			out[name] = s.m.Versions[i].URL
		}
	}
	return out
}

// Policy is the service's configured policy (for reports).
func (s *Service) Policy() config.Policy { return s.cfg.Policy }

func (s *Service) progressText() string {
	if p := s.progress.Load(); p != nil && s.m.State == StateReverting {
		return *p
	}
	return ""
}
