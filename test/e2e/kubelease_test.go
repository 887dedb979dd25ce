package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/netfault"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

// TestHAKubernetesLease: two real replicas with ha.lease: kubernetes on
// one PostgreSQL and a real API server (kwok). The replica that acts holds
// the coordination.k8s.io Lease ripcord-shard-0; SIGKILLed after it has
// recorded a rollback decision, the other is elected (the Lease's holder
// and transitions say so), assumes the store's lease with the next epoch,
// and completes the rollback exactly once; a clean stop hands the Lease
// back at once (released, not waited out).
func TestHAKubernetesLease(t *testing.T) {
	kc, cs, ns := leaseNamespace(t)
	ttl := config.MinKubeLeaseTTL
	v1, bad := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	hooks := newSink(t)
	rs := newReplicaSet(t, 2, replicaConfig{storeURL: pgtest.DSN(t), v1URL: v1.srv.URL, hookURL: hooks.srv.URL, leaseTTL: ttl,
		haExtra: kubeLeaseHA(ns, kc)})
	a, b := rs.reps[0], rs.reps[1]

	act, stop := rs.startLeaderFirstAt(t, a, b, "after_decision")
	defer stop()
	waitLeaseHolder(t, cs, ns, "r0", 10*time.Second)

	bmark := b.mark()
	if _, err := a.cli.Deploy(context.Background(), "svc", "v2-bad", bad.srv.URL); err != nil {
		t.Fatal(err)
	}
	exitAt := a.waitExit(t, 30*time.Second)
	a.waitLine(t, "test crash point reached: killing this process", a.currentRun(), 0, time.Second)
	if !a.killedBySIGKILL() {
		t.Fatal("the leader exited, but not by SIGKILL")
	}
	took, _ := b.waitLine(t, "acting", b.currentRun(), bmark, 20*ttl)
	if took.epoch != act.epoch+1 {
		t.Errorf("the new leader acts with epoch %d, want %d (the killed leader's %d + 1)", took.epoch, act.epoch+1, act.epoch)
	}
	l := waitLeaseHolder(t, cs, ns, "r1", 10*time.Second)
	if l.Spec.LeaseTransitions == nil || *l.Spec.LeaseTransitions < 1 {
		t.Errorf("Lease transitions %v after a takeover, want at least 1", l.Spec.LeaseTransitions)
	}
	t.Logf("KUBE-LEASE takeover after SIGKILL: %s (lease_ttl %s)", took.at.Sub(exitAt), ttl)
	inc := checkRollbackOnce(t, b, "v2-bad", 20*time.Second)
	checkSwitchesOn(t, "v1", b)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) { // refreshed every third of the TTL
		st, err := b.cli.HA(context.Background())
		if err == nil && st.Election == "kubernetes" && len(st.Shards) == 1 && st.Shards[0].KubeLease == ns+"/ripcord-shard-0" && st.Shards[0].Leader == "r1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/v1/ha: %+v (err %v); want election kubernetes, shard 0 led by r1 through %s/ripcord-shard-0", st, err, ns)
		}
	}
	checkOneRollbackDone(t, b, inc)
	waitNotified(t, b, hooks, inc, 20*time.Second)

	// A clean stop releases the Lease: the other takes over without
	// waiting out the duration.
	rs.start(a, "")
	amark := a.mark()
	b.stop(t)
	stopped := time.Now()
	again, _ := a.waitLine(t, "acting", a.currentRun(), amark, 20*ttl)
	waitLeaseHolder(t, cs, ns, "r0", 10*time.Second)
	t.Logf("KUBE-LEASE hand-over after a clean stop: %s", again.at.Sub(stopped))
	checkSwitchesOn(t, "v1", a)
}

// leaseNamespace is the kwok cluster's kubeconfig and client, with a
// namespace of the test's own for the Leases.
func leaseNamespace(t *testing.T) (string, k8s.Interface, string) {
	t.Helper()
	kc, cs := kwokCluster(t)
	ns := fmt.Sprintf("e2e-lease-%d", time.Now().UnixNano()%1_000_000)
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return kc, cs, ns
}

// kubeLeaseHA is the ha block's addition for Leases in ns through kc.
func kubeLeaseHA(ns, kc string) string {
	return fmt.Sprintf(", lease: kubernetes, kubernetes: {namespace: %s, kubeconfig: %q}", ns, kc)
}

// TestPartitionLeaderFromKubernetes: the leader reaches the API server
// through a fault relay, which hangs right after a bad deploy; PostgreSQL
// stays reachable to both. The leader must stop acting (it cannot renew
// its Lease) before the follower is elected and acts — never two at once
// — and the bad version is rolled back exactly once.
func TestPartitionLeaderFromKubernetes(t *testing.T) {
	kc, cs, ns := leaseNamespace(t)
	raw, err := os.ReadFile(kc)
	must(t, err)
	server := regexp.MustCompile(`server: https://([^\s]+)`).FindSubmatch(raw)
	if server == nil {
		t.Fatalf("no server in %s", kc)
	}
	relay, err := netfault.New(string(server[1]))
	must(t, err)
	t.Cleanup(func() { _ = relay.Close() })
	cut := filepath.Join(t.TempDir(), "kubeconfig.yaml")
	must(t, os.WriteFile(cut, bytes.Replace(raw, server[1], []byte(relay.Addr()), 1), 0o600))

	ttl := config.MinKubeLeaseTTL
	v1, bad := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	hooks := newSink(t)
	rc := replicaConfig{storeURL: pgtest.DSN(t), v1URL: v1.srv.URL, hookURL: hooks.srv.URL, leaseTTL: ttl, haExtra: kubeLeaseHA(ns, kc)}
	rs := newReplicaSet(t, 2, rc)
	a, b := rs.reps[0], rs.reps[1]
	rc.haExtra = kubeLeaseHA(ns, cut) // the leader reaches the API server through the relay
	rs.writeConfig(a, rc)
	led, stop := rs.startLeaderFirstAt(t, a, b, "")
	defer stop()
	waitLeaseHolder(t, cs, ns, "r0", 10*time.Second)

	amark, bmark := a.mark(), b.mark()
	if _, err := a.cli.Deploy(context.Background(), "svc", "v2-bad", bad.srv.URL); err != nil {
		t.Fatal(err)
	}
	relay.Set(netfault.Hang)
	stopped, _ := a.waitLine(t, "stopped acting", a.currentRun(), amark, 10*ttl)
	acting, _ := b.waitLine(t, "acting", b.currentRun(), bmark, 10*ttl)
	stoppedAt, actingAt := logTime(t, stopped), logTime(t, acting)
	if !stoppedAt.Before(actingAt) {
		t.Errorf("the follower acted at %s before the cut-off leader stopped at %s: two leaders at once", actingAt.Format(time.RFC3339Nano), stoppedAt.Format(time.RFC3339Nano))
	}
	if acting.epoch <= led.epoch {
		t.Errorf("the follower acts under epoch %d, not after the leader's %d", acting.epoch, led.epoch)
	}
	t.Logf("KUBE-LEASE partition: leader stopped %s before the follower acted", actingAt.Sub(stoppedAt))
	waitLeaseHolder(t, cs, ns, "r1", 10*time.Second)
	inc := checkRollbackOnce(t, b, "v2-bad", 30*time.Second)
	checkSwitchesOn(t, "v1", b)
	checkOneRollbackDone(t, b, inc)
	relay.Set(netfault.Pass)
}

// waitLeaseHolder waits until the shard's Lease names holder, and returns it.
func waitLeaseHolder(t *testing.T, cs k8s.Interface, ns, holder string, timeout time.Duration) *coordinationv1.Lease {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), "ripcord-shard-0", metav1.GetOptions{})
		if err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == holder {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lease %s/ripcord-shard-0 not held by %s after %s: %+v (err %v)", ns, holder, timeout, l, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
