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
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

const haToken = "ha-admin-token-for-tests-0123456789"

// haCluster is n in-process replicas on one PostgreSQL database.
type haCluster struct {
	t    *testing.T
	dsn  string
	svc  config.Service
	reps []*app.App
	cli  []*apiclient.Client
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
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{{Name: "ops", Role: config.RoleAdmin, Value: haToken}}},
		Store: config.Store{URL: c.dsn}, Services: []config.Service{c.svc},
		Reports: config.Reports{Dir: filepath.Join(c.t.TempDir(), "reports")},
		HA:      &config.HA{Replica: fmt.Sprintf("replica-%d", i), LeaseTTL: ttl}}
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
// rolled back exactly once, by the leader; followers refuse nothing they
// should serve (reads) and never write.
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
	// Users reach every replica's switch; the leader judges its own
	// traffic (the followers' reach it through their reports).
	stop := openLoop("http://"+c.reps[lead].ProxyAddr("svc")+"/", 200, func(*http.Response, error) {})
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
