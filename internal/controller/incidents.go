package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
)

// openIncident stores a new incident with an "opened" event and any others.
func (s *Service) openIncident(ctx context.Context, now time.Time, inc incident.Incident, evs ...incident.Event) (string, error) {
	inc.Status = incident.Investigating
	inc.CreatedAt, inc.UpdatedAt = now, now
	inc.Events = append([]incident.Event{{At: now, Type: incident.EvOpened, Actor: "ripcord",
		Message: fmt.Sprintf("%s incident opened (%s): %s", inc.Severity, inc.Kind, inc.Title)}}, evs...)
	id, err := s.deps.Store.CreateIncident(ctx, inc)
	if err != nil {
		return "", fmt.Errorf("controller: create incident: %w", err)
	}
	s.deps.Wake()
	s.log.Info("incident opened", "incident", id, "severity", inc.Severity, "kind", inc.Kind, "reason", inc.Reason)
	return id, nil
}

// event appends to an incident's timeline; failures are logged, never fatal.
func (s *Service) event(ctx context.Context, id string, ev incident.Event) {
	if id == "" {
		return
	}
	if err := s.deps.Store.AppendEvent(ctx, id, ev); err != nil {
		s.log.Error("appending incident event failed", "incident", id, "type", ev.Type, "err", err)
	}
	s.deps.Wake()
}

// updateIncident applies mutate to the stored incident and appends ev, in
// one store transaction, so it acts on the incident as it is (a person may
// have resolved it meanwhile) and never overwrites another writer.
func (s *Service) updateIncident(ctx context.Context, id string, mutate func(*incident.Incident), ev incident.Event) {
	if id == "" {
		return
	}
	err := s.deps.Store.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		before := inc.Status
		mutate(inc)
		if !incident.ValidTransition(before, inc.Status) {
			inc.Status = before // never back, never over a person's decision
		}
		inc.UpdatedAt = ev.At
		if inc.Status != before {
			inc.Events = append(inc.Events, incident.Event{At: ev.At, Type: incident.EvStatus, Actor: ev.Actor,
				Message: fmt.Sprintf("status %s → %s", before, inc.Status),
				Data:    map[string]any{"from": string(before), "to": string(inc.Status)}})
		}
		return nil
	}, ev)
	if err != nil {
		s.log.Error("updating incident failed", "incident", id, "type", ev.Type, "err", err)
	}
	s.deps.Wake()
}
