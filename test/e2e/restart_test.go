package e2e

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestRestartCompletesInterruptedRollbackOnce stops the daemon between
// "decision recorded" and "switch done", restarts it on the same SQLite
// file, and checks the rollback completes exactly once.
func TestRestartCompletesInterruptedRollbackOnce(t *testing.T) {
	var crashed atomic.Int32
	decided := make(chan struct{}, 1)
	hooks := controller.Hooks{AfterDecision: func(store.Decision) error {
		crashed.Add(1)
		select {
		case decided <- struct{}{}:
		default:
		}
		return errors.New("simulated crash")
	}}
	e := startWithHooks(t, hooks, fastPolicy(), newBackend(t, "v1"))
	stop := e.load(300)
	e.deploy(newBackend(t, "v2").failPerMille(600))
	select {
	case <-decided:
	case <-time.After(10 * time.Second):
		t.Fatal("no decision was taken")
	}
	stop()
	if s := e.status(); s.Active != "v2" || s.State != controller.StateReverting {
		t.Fatalf("before restart: %+v", s)
	}
	e.stop()

	e.hooks = controller.Hooks{}
	e.boot()
	s := e.status()
	if s.Active != "v1" {
		t.Fatalf("after restart active %s, want v1", s.Active)
	}
	if crashed.Load() != 1 {
		t.Fatalf("hook ran %d times", crashed.Load())
	}
	ds, err := e.client.Decisions(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Status != store.DecisionDone {
		t.Fatalf("decisions after restart: %+v", ds)
	}
	incs := e.incidents()
	if len(incs) != 1 {
		t.Fatalf("%d incidents, want 1", len(incs))
	}
	done := 0
	for _, ev := range e.incident(incs[0].ID).Events {
		if ev.Type == incident.EvRollbackDone {
			done++
		}
	}
	if done != 1 {
		t.Fatalf("rollback_done %d times, want exactly once", done)
	}
	// A second restart finds nothing left to do.
	e.stop()
	e.boot()
	if ds, _ := e.client.Decisions(t.Context(), "svc"); len(ds) != 1 {
		t.Fatalf("second restart added decisions: %+v", ds)
	}
	if s := e.status(); s.Active != "v1" || !s.Versions[1].KnownBad {
		t.Fatalf("after second restart: %+v", s)
	}
}
