package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestClosedStoreErrs: after Close (shutdown racing a late delivery or
// report), every method returns a "sqlite: " error naming what it was
// doing, instead of panicking or blocking.
func TestClosedStoreErrs(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, tempPath(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	noop := func(*incident.Incident) error { return nil }
	for name, call := range map[string]func() error{
		"save service":    func() error { return s.SaveService(ctx, store.ServiceState{Name: "api"}) },
		"load service":    func() error { _, err := s.LoadService(ctx, "api"); return err },
		"list services":   func() error { _, err := s.ListServices(ctx); return err },
		"record deploy":   func() error { _, err := s.RecordDeployment(ctx, store.Deployment{At: now}); return err },
		"list deploys":    func() error { _, err := s.ListDeployments(ctx, "", 0); return err },
		"record decision": func() error { _, err := s.RecordDecision(ctx, store.Decision{}); return err },
		"decide":          func() error { _, err := s.Decide(ctx, store.Decision{}, store.ServiceState{Name: "api"}); return err },
		"link decision":   func() error { return s.LinkDecision(ctx, 1, "INC-0001") },
		"finish decision": func() error { return s.FinishDecision(ctx, 1, store.DecisionDone, "", now) },
		"pending":         func() error { _, err := s.PendingDecisions(ctx); return err },
		"list decisions":  func() error { _, err := s.ListDecisions(ctx, "", 0); return err },
		"installation":    func() error { _, err := s.InstallationID(ctx); return err },
		"create incident": func() error { _, err := s.CreateIncident(ctx, incident.Incident{}); return err },
		"update incident": func() error { return s.UpdateIncident(ctx, "INC-0001", noop) },
		"append event":    func() error { return s.AppendEvent(ctx, "INC-0001", incident.Event{}) },
		"get incident":    func() error { _, err := s.GetIncident(ctx, "INC-0001"); return err },
		"list incidents":  func() error { _, err := s.ListIncidents(ctx, store.IncidentFilter{}); return err },
		"events after":    func() error { _, err := s.EventsAfter(ctx, 0, 0); return err },
		"last event":      func() error { _, err := s.LastEventSeq(ctx); return err },
		"cursor":          func() error { _, _, err := s.Cursor(ctx, "x"); return err },
		"set cursor":      func() error { return s.SetCursor(ctx, "x", 1) },
		"channel state":   func() error { _, err := s.ChannelState(ctx, "x", "INC-0001"); return err },
		"set channel":     func() error { return s.SetChannelState(ctx, "x", "INC-0001", "v") },
		"record metrics":  func() error { return s.RecordMetrics(ctx, []store.MetricPoint{{At: now}}) },
		"metrics":         func() error { _, err := s.Metrics(ctx, "api", now, now); return err },
		"prune metrics":   func() error { _, err := s.PruneMetrics(ctx, now); return err },
	} {
		err := call()
		if err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") {
			t.Errorf("%s on a closed store: %v, want a sqlite: error", name, err)
		}
	}
}

// TestDefaultLimits: zero or negative limits mean 100 for every list, as
// IncidentFilter documents, and a positive one is honoured exactly.
func TestDefaultLimits(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	id, err := s.CreateIncident(ctx, incident.Incident{Service: "api"})
	if err != nil {
		t.Fatal(err)
	}
	for range 105 {
		if err := s.AppendEvent(ctx, id, incident.Event{Type: incident.EvNote}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordDeployment(ctx, store.Deployment{Service: "api", Version: "v"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordDecision(ctx, store.Decision{Service: "api", Action: "rollback"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{0, -1} {
		evs, _ := s.EventsAfter(ctx, 0, limit)
		deps, _ := s.ListDeployments(ctx, "", limit)
		decs, _ := s.ListDecisions(ctx, "api", limit)
		if len(evs) != 100 || len(deps) != 100 || len(decs) != 100 {
			t.Errorf("limit %d: %d events, %d deployments, %d decisions; want 100 each", limit, len(evs), len(deps), len(decs))
		}
	}
	evs, _ := s.EventsAfter(ctx, 0, 7)
	deps, _ := s.ListDeployments(ctx, "api", 105)
	if len(evs) != 7 || len(deps) != 105 {
		t.Errorf("explicit limits: %d events (want 7), %d deployments (want 105)", len(evs), len(deps))
	}
	// Pending decisions are what a restart must complete: never limited.
	if pend, _ := s.PendingDecisions(ctx); len(pend) != 105 {
		t.Errorf("PendingDecisions = %d, want all 105", len(pend))
	}
}
