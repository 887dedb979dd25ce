package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestUpdateIncidentAcrossHandles: two Stores open on one file stand in for
// the daemon and a second process (a CLI, a restarted daemon overlapping
// the old one). Their read-modify-write updates of one incident interleave
// and none is lost, because each takes the write lock at BEGIN.
func TestUpdateIncidentAcrossHandles(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	a, b := openFile(t, path), openFile(t, path)
	defer a.Close()
	defer b.Close()
	id, err := a.CreateIncident(ctx, incident.Incident{Service: "api", Status: incident.Investigating, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	start := make(chan struct{})
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			for r := range rounds {
				mark := fmt.Sprintf("[w%d.%d]", w, r)
				err := s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
					inc.Reason += mark
					return nil
				}, incident.Event{At: time.Now(), Type: incident.EvNote, Actor: fmt.Sprint(w), Message: mark})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", mark, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	inc, err := b.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Events) != writers*rounds {
		t.Errorf("%d events, want %d", len(inc.Events), writers*rounds)
	}
	for w := range writers {
		for r := range rounds {
			mark := fmt.Sprintf("[w%d.%d]", w, r)
			if strings.Count(inc.Reason, mark) != 1 {
				t.Errorf("update %s appears %d times in the reason, want once", mark, strings.Count(inc.Reason, mark))
			}
		}
	}
	// Each writer's own updates stay in its order.
	for w := range writers {
		last := -1
		for _, ev := range inc.Events {
			if ev.Actor != fmt.Sprint(w) {
				continue
			}
			var r int
			fmt.Sscanf(ev.Message, fmt.Sprintf("[w%d.%%d]", w), &r)
			if r <= last {
				t.Errorf("writer %d: update %d after %d in the timeline", w, r, last)
			}
			last = r
		}
	}
}

// TestIncidentIDsAcrossHandles: two processes creating incidents on one
// file never get the same ID (MAX(seq)+1 under the write lock).
func TestIncidentIDsAcrossHandles(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	a, b := openFile(t, path), openFile(t, path)
	defer a.Close()
	defer b.Close()
	const each = 20
	ids := make([][]string, 2)
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Go(func() {
			for range each {
				id, err := s.CreateIncident(ctx, incident.Incident{Service: fmt.Sprint(i), CreatedAt: time.Now()})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = append(ids[i], id)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, list := range ids {
		for _, id := range list {
			if seen[id] {
				t.Errorf("%s allocated twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 2*each || !seen["INC-0001"] || !seen[fmt.Sprintf("INC-%04d", 2*each)] {
		t.Errorf("ids = %v, want INC-0001 … INC-%04d", ids, 2*each)
	}
}

// TestDecideIsOneTransaction: when the state write fails after the
// decision row was inserted, the decision goes too. A pending decision
// without the state that says the service is reverting would be re-run by
// a restart that never knew about it.
func TestDecideIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, tempPath(t))
	defer s.Close()
	before := store.ServiceState{Name: "api", Active: "v2", State: "watching",
		Versions: []store.Version{{Name: "v1"}, {Name: "v2"}}}
	if err := s.SaveService(ctx, before); err != nil {
		t.Fatal(err)
	}
	// Refuse the version rows of this one write, as a full disk or a
	// constraint would, after the decision row has gone in.
	if _, err := s.db.Exec(`CREATE TRIGGER refuse_versions BEFORE INSERT ON versions
		WHEN NEW.name = 'v1-doomed' BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	after := before
	after.State, after.Active = "reverting", "v1-doomed"
	after.Versions = []store.Version{{Name: "v1-doomed"}, {Name: "v2", KnownBad: true}}
	_, err := s.Decide(ctx, store.Decision{Service: "api", Action: "rollback", FromVersion: "v2", ToVersion: "v1"}, after)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "sqlite: decide: ") {
		t.Fatalf("Decide with a failing state write: %v", err)
	}
	if pend, err := s.PendingDecisions(ctx); err != nil || len(pend) != 0 {
		t.Errorf("a failed Decide left decisions %+v, %v", pend, err)
	}
	got, err := s.LoadService(ctx, "api")
	if err != nil || got.State != "watching" || got.Active != "v2" || len(got.Versions) != 2 || got.Versions[1].KnownBad {
		t.Errorf("a failed Decide changed the service: %+v, %v", got, err)
	}
	// And the same store still works: the transaction was rolled back,
	// not left open on the one connection.
	after.Active, after.Versions[0].Name = "v1", "v1"
	id, err := s.Decide(ctx, store.Decision{Service: "api", Action: "rollback", FromVersion: "v2", ToVersion: "v1"}, after)
	if err != nil {
		t.Fatalf("Decide after a failed one: %v", err)
	}
	if err := s.LinkDecision(ctx, id, "INC-0003"); err != nil {
		t.Fatal(err)
	}
	if pend, _ := s.PendingDecisions(ctx); len(pend) != 1 || pend[0].IncidentID != "INC-0003" {
		t.Errorf("pending = %+v, want the linked decision", pend)
	}
}

// TestDecideRefusesUnstorableTimes before it writes anything.
func TestDecideRefusesUnstorableTimes(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		d  store.Decision
		st store.ServiceState
	}{
		"decision time": {store.Decision{Service: "api", CreatedAt: far}, store.ServiceState{Name: "api"}},
		"watch since":   {store.Decision{Service: "api"}, store.ServiceState{Name: "api", WatchSince: far}},
		"version added": {store.Decision{Service: "api"}, store.ServiceState{Name: "api", Versions: []store.Version{{Name: "v1", AddedAt: far}}}},
	} {
		if _, err := s.Decide(ctx, tc.d, tc.st); err == nil || !strings.Contains(err.Error(), "out of storable range") {
			t.Errorf("%s: Decide = %v, want an out-of-range error", name, err)
		}
	}
	if pend, _ := s.PendingDecisions(ctx); len(pend) != 0 {
		t.Errorf("refused Decides left %+v", pend)
	}
	if _, err := s.LoadService(ctx, "api"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused Decides saved the service: %v", err)
	}
}
