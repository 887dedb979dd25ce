package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/ha"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

const haToken = "ha-admin-token-for-tests-0123456789"

// haCluster is n in-process replicas on one PostgreSQL database.
type haCluster struct {
	t   *testing.T
	dsn string
	svc config.Service
	// svcs, when set, are guarded instead of svc; shards is ha.shards.
	svcs   []config.Service
	shards int
	reps   []*app.App
	cli    []*apiclient.Client
}

func startHA(t *testing.T, n int, ttl time.Duration, pol config.Policy, versions ...*backend) *haCluster {
	t.Helper()
	c := &haCluster{t: t, dsn: pgtest.DSN(t)}
	c.svc = config.Service{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Policy: pol}
	for _, b := range versions {
		c.svc.Versions = append(c.svc.Versions, config.Version{Name: b.name, URL: b.srv.URL})
	}
	c.svc.Active = versions[len(versions)-1].name
	for i := range n {
		c.boot(i, ttl)
	}
	return c
}

func (c *haCluster) boot(i int, ttl time.Duration) {
	c.t.Helper()
	svcs := c.svcs
	if svcs == nil {
		svcs = []config.Service{c.svc}
	}
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{{Name: "ops", Role: config.RoleAdmin, Value: haToken}}},
		Store: config.Store{URL: c.dsn}, Services: svcs,
		Reports: config.Reports{Dir: filepath.Join(c.t.TempDir(), "reports")},
		HA:      &config.HA{Replica: fmt.Sprintf("replica-%d", i), LeaseTTL: ttl, Shards: c.shards}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		c.t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{StateDir: c.t.TempDir()})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	for len(c.reps) <= i {
		c.reps, c.cli = append(c.reps, nil), append(c.cli, nil)
	}
	c.reps[i], c.cli[i] = a, apiclient.New("http://"+a.APIAddr(), haToken)
	c.t.Cleanup(func() { c.stop(i) })
}

func (c *haCluster) stop(i int) {
	if c.reps[i] == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.reps[i].Stop(ctx)
	c.reps[i] = nil
}

// leader waits until exactly one live replica acts for shard 0.
func (c *haCluster) leader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var leads []int
		var changed []<-chan struct{}
		for i, a := range c.reps {
			if a == nil {
				continue
			}
			changed = append(changed, a.HA().Changed())
			if a.HA().Leads(0) {
				leads = append(leads, i)
			}
		}
		if len(leads) > 1 {
			c.t.Fatalf("replicas %v act at once", leads)
		}
		if len(leads) == 1 {
			return leads[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no replica acts after %s", timeout)
		}
		select { // the next term start or end anywhere
		case <-changed[0]:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitSwitches waits until every live replica's switch sends users to v.
func (c *haCluster) waitSwitches(v string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, a := range c.reps {
			if a != nil && a.Switch("svc").Active() != v {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var got []string
			for _, a := range c.reps {
				if a != nil {
					got = append(got, a.Switch("svc").Active())
				}
			}
			c.t.Fatalf("switches on %v after %s, want all on %s", got, timeout, v)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestHAOneReplicaActsTheOthersFollow: three replicas on one PostgreSQL.
// One acts; a deploy sent to a follower is forwarded to it; every
// replica's switch follows the deploy and the rollback; the bad version is
// rolled back exactly once, by the leader, on traffic that crossed only a
// follower's switch (its live statistics are pushed to the leader).
func TestHAOneReplicaActsTheOthersFollow(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	pol := fastPolicy()
	c := startHA(t, 3, time.Second, pol, v1)
	lead := c.leader(10 * time.Second)
	follower := (lead + 1) % 3
	ctx := context.Background()
	// Every replica tells who acts (ripcord status shows it); a follower
	// may need one refresh of its view to know.
	for deadline := time.Now().Add(10 * time.Second); ; {
		h, err := c.cli[follower].HA(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Shards) == 1 && h.Shards[0].Leader != "" && len(h.Replicas) == 3 {
			if want := fmt.Sprintf("replica-%d", lead); h.Shards[0].Leader != want || h.Shards[0].Services != 1 {
				t.Fatalf("HA status from replica-%d: %+v; want %s acting for 1 service", follower, h, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("HA status from replica-%d never showed the leader and 3 replicas: %+v", follower, h)
		}
		time.Sleep(50 * time.Millisecond) // its view refreshes every third of the TTL
	}
	if _, err := c.cli[follower].Deploy(ctx, "svc", "v2", v2.srv.URL); err != nil {
		t.Fatalf("deploy through follower replica-%d: %v", follower, err)
	}
	c.waitSwitches("v2", 5*time.Second)
	// Users reach only a follower's switch: the leader sees the bad
	// version's answers through that follower's reports, and reverts.
	stop := openLoop("http://"+c.reps[follower].ProxyAddr("svc")+"/", 200, func(*http.Response, error) {})
	c.waitSwitches("v1", 20*time.Second)
	stop()
	st, err := c.cli[follower].Service(ctx, "svc")
	if err != nil || st.Active != "v1" {
		t.Fatalf("follower's status: %+v %v", st, err)
	}
	decs, err := c.cli[(lead+2)%3].Decisions(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	rollbacks := 0
	for _, d := range decs {
		if d.Action == controller.ActionRollback {
			rollbacks++
			if d.Status != store.DecisionDone {
				t.Errorf("rollback decision %d is %s", d.ID, d.Status)
			}
		}
	}
	if rollbacks != 1 {
		t.Fatalf("%d rollback decisions, want exactly 1: %+v", rollbacks, decs)
	}
}

// TestHAFailoverOnStop: the leader stops (releasing its lease); another
// replica acts within the lease time and guards: a bad deploy after the
// failover is rolled back by the new leader.
func TestHAFailoverOnStop(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	c := startHA(t, 2, 500*time.Millisecond, fastPolicy(), v1)
	lead := c.leader(10 * time.Second)
	c.stop(lead)
	next := c.leader(5 * time.Second)
	if next == lead {
		t.Fatal("the stopped replica still acts")
	}
	ctx := context.Background()
	if _, err := c.cli[next].Deploy(ctx, "svc", "v2", v2.srv.URL); err != nil {
		t.Fatal(err)
	}
	stop := openLoop("http://"+c.reps[next].ProxyAddr("svc")+"/", 200, func(*http.Response, error) {})
	defer stop()
	c.waitSwitches("v1", 20*time.Second)
	var he *apiclient.Error
	if _, err := c.cli[next].Decisions(ctx, "svc"); errors.As(err, &he) {
		t.Fatal(err)
	}
}

// TestHAShardsSplitAcrossReplicas: with ha.shards 4 and two replicas,
// each acts for two shards (the first to start hands two over when the
// second appears), GET /api/v1/ha shows each replica's share, and a deploy
// of any service sent to either replica is carried out by the replica
// acting for its shard, on every switch.
func TestHAShardsSplitAcrossReplicas(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	c := &haCluster{t: t, dsn: pgtest.DSN(t)}
	var svcs []config.Service
	for i := range 8 {
		svcs = append(svcs, config.Service{Name: fmt.Sprintf("svc-%d", i), Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Policy: fastPolicy(),
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}}, Active: "v1"})
	}
	c.svcs = svcs
	c.shards = 4
	c.boot(0, 500*time.Millisecond)
	c.boot(1, 500*time.Millisecond)
	ctx := context.Background()
	var h ha.Status
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if h, err = c.cli[1].HA(ctx); err != nil {
			t.Fatal(err)
		}
		if n0, n1 := leads(c.reps[0], 4), leads(c.reps[1], 4); n0 == 2 && n1 == 2 && len(h.Replicas) == 2 &&
			len(h.Replicas[0].Shards) == 2 && len(h.Replicas[1].Shards) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards never split 2/2: replica-0 leads %d, replica-1 %d; status %+v", leads(c.reps[0], 4), leads(c.reps[1], 4), h)
		}
	}
	total := 0
	for _, s := range h.Shards {
		total += s.Services
	}
	if total != 8 {
		t.Fatalf("status counts %d services over the shards, want 8: %+v", total, h.Shards)
	}
	for i, s := range svcs {
		if _, err := c.cli[i%2].Deploy(ctx, s.Name, "v2", v2.srv.URL); err != nil {
			t.Fatalf("deploy %s through replica-%d: %v", s.Name, i%2, err)
		}
	}
	for _, s := range svcs {
		for deadline := time.Now().Add(5 * time.Second); c.reps[0].Switch(s.Name).Active() != "v2" || c.reps[1].Switch(s.Name).Active() != "v2"; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: switches on %s / %s, want v2 on both", s.Name, c.reps[0].Switch(s.Name).Active(), c.reps[1].Switch(s.Name).Active())
			}
		}
	}
}

func leads(a *app.App, shards int) int {
	n := 0
	for i := range shards {
		if a.HA().Leads(i) {
			n++
		}
	}
	return n
}
