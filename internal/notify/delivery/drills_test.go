package delivery_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify/delivery"
	"github.com/ripcord/ripcord/internal/notify/webhook"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// TestDrillsOnlyOnDrillRoutes: a drill incident reaches only a channel
// with Drills set (at its DrillSeverity), while an ordinary incident
// reaches both.
func TestDrillsOnlyOnDrillRoutes(t *testing.T) {
	plain, drills := newReceiver(t, 0, 0), newReceiver(t, 0, 0)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var chans []delivery.Channel
	for _, c := range []struct {
		name   string
		r      *receiver
		drills bool
	}{{"plain", plain, false}, {"drills", drills, true}} {
		n, err := webhook.New(webhook.Config{URL: c.r.srv.URL, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, delivery.Channel{Name: c.name, Notifier: n, MinSeverity: incident.Minor, Drills: c.drills, DrillSeverity: incident.Minor})
	}
	d := delivery.New(st, chans, delivery.Options{Poll: 20 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); wait() })
	now := time.Now()
	drill, err := st.CreateIncident(ctx, incident.Incident{Service: "svc", Kind: incident.KindDrill, Severity: incident.Minor,
		Status: incident.Investigating, Title: "svc: drill", CreatedAt: now, UpdatedAt: now,
		Events: []incident.Event{{At: now, Type: incident.EvOpened, Actor: "ripcord", Message: "opened"}}})
	if err != nil {
		t.Fatal(err)
	}
	real := open(t, st, incident.Minor)
	d.Wake()
	waitUntil(t, "both delivered to the drills channel", func() bool { ids, _ := drills.got(); return len(ids) == 2 })
	drained(t, st, "plain")
	ids, _ := plain.got()
	if len(ids) != 1 || !strings.Contains(ids[0], real) || strings.Contains(ids[0], drill) {
		t.Fatalf("the plain channel got %v; want only %s", ids, real)
	}
}
