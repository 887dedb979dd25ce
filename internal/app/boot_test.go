package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
	files "github.com/ripcord/ripcord/internal/testutil/fleet"
)

func startFleet(t *testing.T, cfg *config.Config) *App {
	t.Helper()
	a, err := New(t.Context(), cfg, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return a
}

func stopFleet(t *testing.T, a *App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBootSavesEveryServiceAndRestartsFromIt: a fleet's first start
// saves every service's state before the API serves (boot.go holds them
// for one batch), and the next start resumes each from its saved state.
func TestBootSavesEveryServiceAndRestartsFromIt(t *testing.T) {
	cfg := files.Config(t, 25, "svc-%02d")
	a := startFleet(t, cfg)
	states, err := a.Store().ListServices(t.Context())
	if err != nil || len(states) != 25 {
		t.Fatalf("after the first start: %d states saved, %v", len(states), err)
	}
	if err := a.Service("svc-07").Deploy(t.Context(), "v2", "", "test"); err != nil {
		t.Fatal(err)
	}
	stopFleet(t, a)
	a = startFleet(t, cfg)
	defer stopFleet(t, a)
	for _, s := range a.services {
		st := s.Status()
		want := "v1"
		if s.Name() == "svc-07" {
			want = "v2"
		}
		if st.Active != want {
			t.Errorf("%s restarted on %s, want %s", s.Name(), st.Active, want)
		}
	}
	if got := a.Service("svc-07").Status().State; got != "watching" {
		t.Errorf("svc-07 restarted %s, want watching", got)
	}
}

// TestBootStoreWriteSavesHeldStatesFirst: while the services start, a
// boot state is held (reads of it see it), and any other write first
// saves what is held, after which every read goes to the store.
func TestBootStoreWriteSavesHeldStatesFirst(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := &boot{}
	bs := b.wrap(st)
	if err := b.load(ctx, st); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := bs.SaveService(ctx, store.ServiceState{Name: "a", Active: "v1", State: "stable", UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadService(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a held state is in the store already: %v", err)
	}
	if got, err := bs.LoadService(ctx, "a"); err != nil || got.Active != "v1" {
		t.Fatalf("the held state reads back as %+v, %v", got, err)
	}
	id, err := bs.RecordDecision(ctx, store.Decision{Service: "a", Action: "rollback", CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.LoadService(ctx, "a"); err != nil || got.Active != "v1" {
		t.Fatalf("after a decision, the store has %+v, %v", got, err)
	}
	if p, err := bs.PendingDecisions(ctx); err != nil || len(p) != 1 || p[0].ID != id {
		t.Fatalf("pending decisions after the write: %+v, %v (the snapshot's, not the store's?)", p, err)
	}
	if err := bs.SaveService(ctx, store.ServiceState{Name: "b", Active: "v1", State: "stable", UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadService(ctx, "b"); err != nil {
		t.Fatalf("a save after boot ended is not written at once: %v", err)
	}
	if err := b.done(ctx); err != nil {
		t.Fatal(err)
	}
}
