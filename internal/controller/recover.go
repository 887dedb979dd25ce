package controller

import (
	"context"
	"fmt"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// recover completes what a crash interrupted. Called with s.mu held.
//
// A pending decision is re-executed (Revert is idempotent and the store
// refuses to finish a decision twice). A service left "reverting" with no
// pending decision crashed after the decision was finished but before the
// new state was saved; the last decision tells where it was going.
func (s *Service) recover(ctx context.Context) error {
	pending, err := s.deps.Store.PendingDecisions(ctx)
	if err != nil {
		return fmt.Errorf("controller: pending decisions: %w", err)
	}
	resumed := false
	for _, d := range pending {
		if d.Service != s.cfg.Name {
			continue
		}
		s.log.Warn("completing decision interrupted by restart", "decision", d.ID, "action", d.Action, "from", d.FromVersion, "to", d.ToVersion)
		s.event(ctx, d.IncidentID, incident.Event{At: s.deps.Now(), Type: incident.EvDecision, Actor: "ripcord",
			Message: fmt.Sprintf("ripcord restarted with decision %d (%s → %s) pending; completing it", d.ID, d.FromVersion, d.ToVersion)})
		s.st.IncidentID = d.IncidentID
		s.execute(ctx, d)
		resumed = true
	}
	if resumed || s.st.State != StateReverting {
		return nil
	}
	last, err := s.deps.Store.ListDecisions(ctx, s.cfg.Name, 1)
	if err != nil {
		return fmt.Errorf("controller: last decision: %w", err)
	}
	if len(last) == 1 && last[0].Status == store.DecisionDone {
		d := last[0]
		if _, err := s.deps.Router.Activate(d.ToVersion); err != nil {
			return fmt.Errorf("controller: activate %s: %w", d.ToVersion, err)
		}
		s.markBad(d.FromVersion, d.Reason)
		s.st.Active, s.st.State, s.st.WatchSince = d.ToVersion, StateVerifying, s.deps.Now()
		return s.save(ctx)
	}
	s.st.State = StateStable
	return s.save(ctx)
}
