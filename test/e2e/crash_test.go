package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

// crashRounds is how many kills each crash point gets (RIPCORD_CRASH_ROUNDS
// overrides it, for bench/failover/run.sh).
func crashRounds() int {
	if n, err := strconv.Atoi(os.Getenv("RIPCORD_CRASH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// TestCrashLeaderAtEveryStep: two real replicas on one PostgreSQL, users
// on both proxies, a webhook receiver. For each crash point, rounds: the
// leader runs with RIPCORD_TEST_CRASH_AT, a bad version is deployed, the
// leader SIGKILLs itself at the point during the rollback, the follower
// takes over (its "acting" log line; the time from the kill is recorded),
// and then: the interrupted rollback is done exactly once, both switches
// are back on v1, the incident has one rollback_done, and every announced
// incident event reached the receiver at least once under one webhook-id.
func TestCrashLeaderAtEveryStep(t *testing.T) {
	ttl := time.Second
	v1, bad := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	hooks := newSink(t)
	rc := replicaConfig{storeURL: pgtest.DSN(t), v1URL: v1.srv.URL, hookURL: hooks.srv.URL, leaseTTL: ttl}
	lease := "postgres"
	if os.Getenv("RIPCORD_CRASH_LEASE") == "kubernetes" { // bench/failover/run.sh kubernetes
		kc, _, ns := leaseNamespace(t)
		ttl, lease = config.MinKubeLeaseTTL, "kubernetes"
		rc.leaseTTL, rc.haExtra = ttl, kubeLeaseHA(ns, kc)
	}
	rs := newReplicaSet(t, 2, rc)
	a, b := rs.reps[0], rs.reps[1]

	points := []string{"after_decision", "after_switch", "after_incident", "between_notifications"}
	rounds := crashRounds()
	var plan []string // each round's RIPCORD_TEST_CRASH_AT
	for _, p := range points {
		for k := range rounds {
			if p == "between_notifications" && k%2 == 1 {
				plan = append(plan, p+":2") // after the second message, not the opened one
			} else {
				plan = append(plan, p)
			}
		}
	}
	// leader holds the crash env of the round; follower none.
	leader, follower := a, b
	rs.start(leader, plan[0])
	leader.waitLine(t, "acting", leader.currentRun(), 0, 10*time.Second)
	rs.start(follower, "")
	for _, r := range rs.reps {
		stop := loadAt(t, "http://"+r.prox+"/", 150)
		defer stop()
	}

	var takeovers []time.Duration
	var stats effectStats
	for i, crashAt := range plan {
		round := i + 1
		version := fmt.Sprintf("v2-r%d", round)
		t.Logf("round %d: %s crashes at %s", round, leader.name, crashAt)
		fmark := follower.mark()
		if _, err := leader.cli.Deploy(context.Background(), "svc", version, bad.srv.URL); err != nil {
			t.Fatalf("round %d: deploy %s: %v", round, version, err)
		}
		exitAt := leader.waitExit(t, 30*time.Second)
		// It died by its own SIGKILL at the point, not of anything else.
		leader.waitLine(t, "test crash point reached: killing this process", leader.currentRun(), 0, time.Second)
		if !leader.killedBySIGKILL() {
			t.Fatalf("round %d: %s exited, but not by SIGKILL", round, leader.name)
		}
		act, _ := follower.waitLine(t, "acting", follower.currentRun(), fmark, 10*ttl)
		takeovers = append(takeovers, act.at.Sub(exitAt))

		inc := checkRollbackOnce(t, follower, version, 20*time.Second)
		checkSwitchesOn(t, "v1", follower)
		stats.add(waitNotified(t, follower, hooks, inc, 20*time.Second))
		checkOneRollbackDone(t, follower, inc)
		if round == len(plan) {
			rs.start(leader, "")
			break
		}
		// The killed replica comes back as a follower carrying the next
		// round's crash point; the current leader hands over with a clean
		// stop (it releases its lease) and comes back without one.
		rs.start(leader, plan[i+1])
		lmark := leader.mark()
		follower.stop(t)
		leader.waitLine(t, "acting", leader.currentRun(), lmark, 10*ttl)
		rs.start(follower, "")
		waitSettled(t, leader, 20*time.Second)
	}
	round := len(plan)
	// Every replica's view is the same at the end.
	checkSwitchesOn(t, "v1", a, b)
	p50, mx := quantiles(takeovers)
	t.Logf("FAILOVER lease=%s kills=%d takeover_p50=%s takeover_max=%s lease_ttl=%s", lease, len(takeovers), p50, mx, ttl)
	t.Logf("FAILOVER rollbacks_per_interrupted_rollback=1 (all %d rounds) events=%d deliveries=%d redeliveries=%d distinct_ids_per_event_max=%d",
		round, stats.events, stats.deliveries, stats.deliveries-stats.events, stats.maxIDs)
	if len(takeovers) != len(points)*rounds {
		t.Fatalf("%d takeovers measured, want %d", len(takeovers), len(points)*rounds)
	}
}

// checkRollbackOnce waits until the rollback of version is finished and
// checks it was decided and done exactly once, with one incident carrying
// one rollback_done; it returns that incident's ID.
func checkRollbackOnce(t *testing.T, r *replicaProc, version string, timeout time.Duration) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		decs, err := r.cli.Decisions(ctx, "svc")
		var mine []store.Decision
		for _, d := range decs {
			if d.Action == controller.ActionRollback && d.FromVersion == version {
				mine = append(mine, d)
			}
		}
		if err == nil && len(mine) > 1 {
			t.Fatalf("%d rollback decisions for %s, want exactly 1: %+v", len(mine), version, mine)
		}
		if err == nil && len(mine) == 1 && mine[0].Status == store.DecisionDone {
			incs, err := r.cli.Incidents(ctx, "svc", false)
			if err != nil {
				t.Fatal(err)
			}
			var found []incident.Incident
			for _, i := range incs {
				if i.Kind == incident.KindRollback && i.FromVersion == version {
					found = append(found, i)
				}
			}
			if len(found) != 1 {
				t.Fatalf("%d rollback incidents for %s, want exactly 1", len(found), version)
			}
			if mine[0].IncidentID != found[0].ID {
				t.Fatalf("rollback decision for %s linked to %q, its incident is %s", version, mine[0].IncidentID, found[0].ID)
			}
			inc := found[0]
			return inc.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollback of %s not done after %s: decisions %+v (err %v)\n%s", version, timeout, mine, err, r.tail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOneRollbackDone checks a verified rollback's incident says it was
// done once.
func checkOneRollbackDone(t *testing.T, r *replicaProc, id string) {
	t.Helper()
	inc, err := r.cli.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	done := 0
	for _, ev := range inc.Events {
		types = append(types, ev.Type)
		if ev.Type == incident.EvRollbackDone {
			done++
		}
	}
	if done != 1 {
		t.Fatalf("incident %s: %d rollback_done events, want 1: %v", id, done, types)
	}
}

// checkSwitchesOn checks every given replica's status and switch say v:
// the API's active version, and a request through the proxy answered by v.
func checkSwitchesOn(t *testing.T, v string, reps ...*replicaProc) {
	t.Helper()
	for _, r := range reps {
		deadline := time.Now().Add(5 * time.Second) // a follower applies the change as NOTIFY reaches it
		for {
			st, err := r.cli.Service(context.Background(), "svc")
			got := ""
			if resp, gerr := http.Get("http://" + r.prox + "/"); gerr == nil {
				got = resp.Header.Get("X-Version")
				resp.Body.Close()
			}
			if err == nil && st.Active == v && got == v {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: status active %q (err %v), proxy answered by %q; want %s", r.name, st.Active, err, got, v)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// waitSettled waits until the service can take the next deploy: v1 active,
// no rollback being verified.
func waitSettled(t *testing.T, r *replicaProc, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := r.cli.Service(context.Background(), "svc")
		if err == nil && st.Active == "v1" && st.State != controller.StateReverting && st.State != controller.StateVerifying {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: service not settled after %s: %+v %v", r.name, timeout, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// announced are the timeline events delivery sends (delivery.announce).
var announced = []string{incident.EvOpened, incident.EvRollbackDone, incident.EvRollbackFailed, incident.EvVerified,
	incident.EvFallback, incident.EvEscalated, incident.EvSuppressed, incident.EvStatus, incident.EvNote, incident.EvDataReturned}

type effectStats struct{ events, deliveries, maxIDs int }

func (s *effectStats) add(o effectStats) {
	s.events += o.events
	s.deliveries += o.deliveries
	s.maxIDs = max(s.maxIDs, o.maxIDs)
}

// waitNotified waits until every announced event of incident id (verified
// among them) reached the receiver, and checks each event reached it under
// one webhook-id only: redeliveries repeat the id, never make a new one.
func waitNotified(t *testing.T, r *replicaProc, hooks *sink, id string, timeout time.Duration) effectStats {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		inc, err := r.cli.Incident(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]string{}
		verified := false
		for _, ev := range inc.Events {
			if slices.Contains(announced, ev.Type) {
				want[ev.Seq] = ev.Type
				verified = verified || ev.Type == incident.EvVerified
			}
		}
		ids := deliveredIDs(hooks, id)
		missing := 0
		st := effectStats{}
		for seq := range want {
			if len(ids[seq]) == 0 {
				missing++
			}
		}
		for seq, got := range ids {
			distinct := map[string]bool{}
			for _, i := range got {
				distinct[i] = true
			}
			if len(distinct) != 1 {
				t.Fatalf("incident %s event %d reached the receiver under %d webhook-ids: %v", id, seq, len(distinct), got)
			}
			st.events++
			st.deliveries += len(got)
			st.maxIDs = max(st.maxIDs, len(distinct))
		}
		if verified && missing == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident %s: %d announced events not delivered after %s (verified on the timeline: %v); want %v, got %v",
				id, missing, timeout, verified, want, ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deliveredIDs is the receiver's webhook-ids for incident id, by event seq.
func deliveredIDs(hooks *sink, id string) map[int64][]string {
	bodies, ids := hooks.snapshot()
	out := map[int64][]string{}
	for i, b := range bodies {
		if b["subject"] != id {
			continue
		}
		data, _ := b["data"].(map[string]any)
		seq, _ := data["seq"].(float64)
		out[int64(seq)] = append(out[int64(seq)], ids[i])
	}
	return out
}

func quantiles(ds []time.Duration) (p50, maxD time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2], s[len(s)-1]
}
