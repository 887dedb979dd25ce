package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

func deployment() store.Deployment {
	return store.Deployment{Service: "svc", Version: "v1", At: time.Now()}
}

// TestOutboxNeverSkipsAnEvent: a consumer following the log by cursor
// while many writers append concurrently (through separate stores, as
// separate processes would) sees every event. With Seq handed out at
// insert and commits in any order, a cursor could pass an event still
// being committed; eventLogLock is what prevents it.
func TestOutboxNeverSkipsAnEvent(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	reader := open(t, dsn)
	defer reader.Close()
	const writers, each = 6, 40
	var ids []string
	for range writers {
		id, err := reader.CreateIncident(ctx, incident.Incident{Service: "svc", CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	base, _ := reader.LastEventSeq(ctx)
	var wg sync.WaitGroup
	var done atomic.Bool
	for w := range writers {
		s := open(t, dsn)
		defer s.Close()
		wg.Go(func() {
			for i := range each {
				if i%2 == 0 {
					err := s.UpdateIncident(ctx, ids[w], func(*incident.Incident) error { return nil },
						incident.Event{Type: incident.EvNote, Message: "update"})
					if err != nil {
						t.Error(err)
						return
					}
				} else if err := s.AppendEvent(ctx, ids[w], incident.Event{Type: incident.EvNote, Message: "append"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); done.Store(true) }()
	seen := map[int64]bool{}
	cursor := base
	for {
		finished := done.Load() // read before the batch: a final pass after the last commit
		evs, err := reader.EventsAfter(ctx, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if seen[e.Event.Seq] {
				t.Fatalf("event %d delivered twice", e.Event.Seq)
			}
			seen[e.Event.Seq] = true
			cursor = e.Event.Seq
		}
		if finished && len(evs) == 0 {
			break
		}
	}
	if len(seen) != writers*each {
		t.Fatalf("consumer saw %d events, %d were written", len(seen), writers*each)
	}
}
