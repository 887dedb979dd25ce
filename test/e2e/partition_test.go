package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/netfault"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

// logTime is the time a log line carries (the process's own clock; both
// replicas run on this machine, as does PostgreSQL).
func logTime(t *testing.T, l logLine) time.Time {
	t.Helper()
	var m struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(l.raw), &m); err != nil {
		t.Fatalf("log line without a time: %s", l.raw)
	}
	return m.Time
}

// TestPartitionLeaderFromPostgres: the leader reaches PostgreSQL through a
// fault relay, which hangs right after a bad deploy. The leader must stop
// acting before the lease it last renewed ends (the expiry read from the
// database at the cut), the follower must act only after the leader
// stopped (never two at once), and the bad version is rolled back exactly
// once, by whoever got to decide.
func TestPartitionLeaderFromPostgres(t *testing.T) {
	ttl := time.Second
	v1, bad := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	hooks := newSink(t)
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	must(t, err)
	relay, err := netfault.New(u.Host)
	must(t, err)
	t.Cleanup(func() { _ = relay.Close() })
	rs := newReplicaSet(t, 2, replicaConfig{storeURL: dsn, v1URL: v1.srv.URL, hookURL: hooks.srv.URL, leaseTTL: ttl})
	a, b := rs.reps[0], rs.reps[1]
	rs.setStoreURL(a, strings.Replace(dsn, u.Host, relay.Addr(), 1))
	stop := rs.startLeaderFirst(t, a, b)
	defer stop()

	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	must(t, err)
	defer db.Close(ctx)

	amark, bmark := a.mark(), b.mark()
	if _, err := a.cli.Deploy(ctx, "svc", "v2", bad.srv.URL); err != nil {
		t.Fatal(err)
	}
	relay.Set(netfault.Hang)
	var holder string
	var epoch int64
	var expires time.Time
	must(t, db.QueryRow(ctx, `SELECT holder, epoch, expires_at FROM leases WHERE name = 'shard-0'`).Scan(&holder, &epoch, &expires))
	if holder != a.name {
		t.Fatalf("lease held by %q at the cut, want %s", holder, a.name)
	}

	stopped, _ := a.waitLine(t, "stopped acting", a.currentRun(), amark, 10*ttl)
	acting, _ := b.waitLine(t, "acting", b.currentRun(), bmark, 10*ttl)
	stoppedAt, actingAt := logTime(t, stopped), logTime(t, acting)
	if !stoppedAt.Before(expires) {
		t.Errorf("the cut-off leader stopped acting at %s, not before its lease ended at %s", stoppedAt.Format(time.RFC3339Nano), expires.Format(time.RFC3339Nano))
	}
	if !stoppedAt.Before(actingAt) {
		t.Errorf("the follower acted at %s before the cut-off leader stopped at %s: two leaders at once", actingAt.Format(time.RFC3339Nano), stoppedAt.Format(time.RFC3339Nano))
	}
	if acting.epoch <= epoch {
		t.Errorf("the follower acts under epoch %d, not after the leader's %d", acting.epoch, epoch)
	}

	inc := checkRollbackOnce(t, b, "v2", 20*time.Second)
	checkSwitchesOn(t, "v1", b)
	st := waitNotified(t, b, hooks, inc, 20*time.Second)
	checkOneRollbackDone(t, b, inc)

	// The partition heals: the old leader follows (its switch back on v1)
	// and has not acted since it stopped.
	relay.Set(netfault.Pass)
	checkSwitchesOn(t, "v1", a, b)
	for _, l := range a.linesSince(amark) {
		if l.msg == "acting" {
			t.Errorf("the cut-off leader acted again while the follower held the lease: %s", l.raw)
		}
	}
	t.Logf("PARTITION leader stopped %s before its lease's end; follower acted %s after the leader stopped (epoch %d → %d); events=%d deliveries=%d",
		expires.Sub(stoppedAt), actingAt.Sub(stoppedAt), epoch, acting.epoch, st.events, st.deliveries)
}

// TestPostgresRestartMidRollback: PostgreSQL itself restarts while a
// rollback's incident is open, verification runs and its notifications
// wait on a receiver that is down. Nothing is lost: the rollback is done
// once, the incident completes (one rollback_done, verified), every
// announced event reaches the receiver under one webhook-id once it is
// back, and both switches end on v1.
func TestPostgresRestartMidRollback(t *testing.T) {
	ttl := time.Second
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	v1, bad := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	hooks := newSink(t)
	hooks.down.Store(true)
	rs := newReplicaSet(t, 2, replicaConfig{storeURL: dsn, v1URL: v1.srv.URL, hookURL: hooks.srv.URL, leaseTTL: ttl})
	a, b := rs.reps[0], rs.reps[1]
	stop := rs.startLeaderFirst(t, a, b)
	defer stop()
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	must(t, err)
	if _, err := a.cli.Deploy(ctx, "svc", "v2", bad.srv.URL); err != nil {
		t.Fatal(err)
	}
	// Restart the moment the decision is recorded: the switch, the
	// incident, the decision's outcome and the notifications all still
	// have to be written.
	var status string
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := db.QueryRow(ctx, `SELECT status FROM decisions ORDER BY id LIMIT 1`).Scan(&status)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision recorded after 20s: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	_ = db.Close(ctx)
	must(t, pg.Restart())
	hooks.down.Store(false)

	inc := checkRollbackOnce(t, b, "v2", 30*time.Second)
	st := waitNotified(t, b, hooks, inc, 30*time.Second)
	checkOneRollbackDone(t, b, inc)
	checkSwitchesOn(t, "v1", a, b)
	t.Logf("PGRESTART decision %s when the restart began; rollbacks=1 events=%d deliveries=%d", status, st.events, st.deliveries)
}

// startLeaderFirst starts a, waits until it acts, starts b, and puts 150
// req/s on each replica's switch; stop ends the load.
func (rs *replicaSet) startLeaderFirst(t *testing.T, a, b *replicaProc) (stop func()) {
	t.Helper()
	_, stop = rs.startLeaderFirstAt(t, a, b, "")
	return stop
}

// startLeaderFirstAt is startLeaderFirst with a's RIPCORD_TEST_CRASH_AT;
// it also returns a's "acting" line.
func (rs *replicaSet) startLeaderFirstAt(t *testing.T, a, b *replicaProc, crashAt string) (acting logLine, stop func()) {
	t.Helper()
	rs.start(a, crashAt)
	acting, _ = a.waitLine(t, "acting", a.currentRun(), 0, 20*time.Second)
	rs.start(b, "")
	var stops []func()
	for _, r := range rs.reps {
		stops = append(stops, loadAt(t, "http://"+r.prox+"/", 150))
	}
	return acting, func() {
		for _, s := range stops {
			s()
		}
	}
}
