package kubernetes

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ripcord/ripcord/internal/revert"
)

const img = "registry.local:5000/llm-api:"

func TestK8sRollbackRestoresPreviousRevision(t *testing.T) {
	needCluster(t)
	ns := testNamespace(t)
	ctx := context.Background()
	createAndWait(t, liveDeployment(ns, "llm-api", "llm-api", img+"v1", 3, nil))
	setImage(t, ns, "llm-api", img+"v2", nil, true)

	cs, reqs := countingClient(t, cluster.cfg)
	var mu sync.Mutex
	var progress []Progress
	tg, err := NewForClient(cs, Config{Namespace: ns, Deployment: "llm-api", RolloutTimeout: time.Minute},
		WithProgress(func(p Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	res, err := tg.Revert(ctx, revert.Request{Service: "llm-api", From: "v2", To: "v1", Reason: "error rate 12% > 5%"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("revert v2 → v1: %s (progress %+v)", res.Duration, progress)
	if res.From != "v2" || res.To != "v1" {
		t.Fatalf("result = %+v", res)
	}
	d, err := cluster.cs.AppsV1().Deployments(ns).Get(ctx, "llm-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const cause = "ripcord: automatic rollback of v2 → v1: error rate 12% > 5%"
	if d.Spec.Template.Spec.Containers[0].Image != img+"v1" || d.Annotations[ChangeCauseAnnotation] != cause {
		t.Fatalf("deployment: image %s, change-cause %q", d.Spec.Template.Spec.Containers[0].Image, d.Annotations[ChangeCauseAnnotation])
	}
	if ok, _ := rolloutComplete(d, time.Now()); !ok {
		t.Fatalf("Revert returned before the rollout completed: %s", describeRollout(d))
	}
	// The controller reuses v1's ReplicaSet as revision 3, with the cause.
	revs, err := tg.Revisions(ctx)
	if err != nil || len(revs) != 2 || revs[0].Number != 3 || revs[0].Version != "v1" || revs[0].ChangeCause != cause {
		t.Fatalf("revisions = %+v, %v", revs, err)
	}
	if hist := kubectl(t, "-n", ns, "rollout", "history", "deployment/llm-api"); !strings.Contains(hist, "3         "+cause) {
		t.Fatalf("kubectl rollout history lacks the change-cause:\n%s", hist)
	}
	if got := kubectl(t, "-n", ns, "get", "events", "--field-selector", "reason="+EventReason, "-o", "name"); strings.TrimSpace(got) == "" {
		t.Fatal("no RipcordRollback event")
	}
	mu.Lock()
	last := progress[len(progress)-1]
	mu.Unlock()
	if !progress[0].Written || last.Available != 3 || last.Updated != 3 {
		t.Fatalf("progress = %+v", progress)
	}

	// Running the same decision again writes nothing.
	reqs.reset()
	if _, err := tg.Revert(ctx, revert.Request{To: "v1"}); err != nil {
		t.Fatal(err)
	}
	if n := reqs.count("PUT", "/deployments/"); n != 0 {
		t.Fatalf("idempotent revert wrote %d times", n)
	}
}

func TestK8sRevertToRevisionSkipsKnownBad(t *testing.T) {
	needCluster(t)
	ns := testNamespace(t)
	ctx := context.Background()
	createAndWait(t, liveDeployment(ns, "llm-api", "llm-api", img+"v1", 2, nil))
	setImage(t, ns, "llm-api", img+"v2", nil, true)
	setImage(t, ns, "llm-api", img+"v3", nil, true)
	tg, err := NewForClient(cluster.cs, Config{Namespace: ns, Deployment: "llm-api", RolloutTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// The controller's fallback chain: newest first, skipping known-bad.
	revs, err := tg.Revisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := []string{"v3", "v2"}
	var to Revision
	for _, r := range revs {
		if !slices.Contains(bad, r.Version) {
			to = r
			break
		}
	}
	if to.Number != 1 || to.Version != "v1" {
		t.Fatalf("fallback = %+v from %+v", to, revs)
	}
	res, err := tg.Revert(ctx, revert.Request{To: "revision:1", Reason: "v3 and v2 bad"})
	if err != nil || res.From != "v3" || res.To != "v1" {
		t.Fatalf("revert = %+v, %v", res, err)
	}
	st, err := tg.Status(ctx)
	if err != nil || st.Current != "v1" {
		t.Fatalf("status = %+v, %v", st, err)
	}
	if revs, _ = tg.Revisions(ctx); revs[0].Number != 4 || revs[0].Version != "v1" {
		t.Fatalf("after revert, newest revision = %+v", revs[0])
	}
}

func TestK8sRevertToVersionThatNeverBecomesReadyTimesOut(t *testing.T) {
	needCluster(t)
	ns := testNamespace(t)
	ctx := context.Background()
	// v1's pods select a node that does not exist: they stay Pending.
	unschedulable := func(p *corev1.PodSpec) { p.NodeSelector = map[string]string{"ripcord.dev/no-such-node": "true"} }
	d := liveDeployment(ns, "llm-api", "llm-api", img+"v1", 2, nil)
	unschedulable(&d.Spec.Template.Spec)
	if _, err := cluster.cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// v1 must be a revision (its ReplicaSet created) before v2 replaces
	// the template, or a busy controller only ever makes v2's.
	waitRevision(t, ns, "llm-api", 1)
	setImage(t, ns, "llm-api", img+"v2", func(p *corev1.PodSpec) { p.NodeSelector = nil }, true)

	const timeout = 3 * time.Second
	tg, err := NewForClient(cluster.cs, Config{Namespace: ns, Deployment: "llm-api", RolloutTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	// The caller allows far longer than rollout_timeout: the error must be
	// the target's own deadline, not the caller's, and must say why.
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Minute)
	defer cancel()
	_, err = tg.Revert(ctx, revert.Request{To: "v1", Reason: "test"})
	if !errors.Is(err, ErrRolloutTimeout) || ctx.Err() != nil {
		t.Fatalf("err = %v (caller's context: %v), want ErrRolloutTimeout from the target", err, ctx.Err())
	}
	if msg := err.Error(); !strings.Contains(msg, "after "+timeout.String()) || !strings.Contains(msg, "available") {
		t.Errorf("timeout error does not describe the stalled rollout: %v", err)
	}
	// It gave up on a rollout that really had not completed.
	d, err = cluster.cs.AppsV1().Deployments(ns).Get(context.Background(), "llm-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if done, _ := rolloutComplete(d, time.Time{}); done {
		t.Errorf("ErrRolloutTimeout for a rollout that completed: %+v", d.Status)
	}
}

func TestK8sServiceSelectorSwitchIsOneRoundTrip(t *testing.T) {
	needCluster(t)
	ns := testNamespace(t)
	ctx := context.Background()
	blue := liveDeployment(ns, "llm-router-blue", "llm-router", img+"v1", 2, map[string]string{"version": "v1"})
	green := liveDeployment(ns, "llm-router-green", "llm-router", img+"v2", 2, map[string]string{"version": "v2"})
	createAndWait(t, blue)
	createAndWait(t, green)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "llm-router", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "llm-router", "version": "v2"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	if _, err := cluster.cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, reqs := countingClient(t, cluster.cfg)
	tg, err := NewForClient(cs, Config{Namespace: ns, Mode: ModeServiceSelector, Service: "llm-router"})
	if err != nil {
		t.Fatal(err)
	}
	reqs.reset()
	res, err := tg.Revert(ctx, revert.Request{To: "v1", Reason: "p99 4s"})
	if err != nil || res.From != "v2" || res.To != "v1" {
		t.Fatalf("revert = %+v, %v", res, err)
	}
	if n, w := reqs.count("PATCH", "/services/"), reqs.count("PUT", "/services/"); n != 1 || w != 0 {
		t.Fatalf("service writes: %d PATCH, %d PUT; want exactly one PATCH", n, w)
	}
	t.Logf("switch: %s, requests %v", res.Duration, reqs.reqs)
	if st, _ := tg.Status(ctx); st.Current != "v1" {
		t.Fatalf("status = %+v", st)
	}
	waitEndpoints(t, ns, "llm-router", "llm-router-blue-")
}

// waitEndpoints waits until the Service's EndpointSlices list only pods
// whose names start with prefix.
func waitEndpoints(t *testing.T, ns, svc, prefix string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		list, err := cluster.cs.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.TargetRef != nil {
					names = append(names, e.TargetRef.Name)
				}
			}
		}
		if len(names) > 0 && !slices.ContainsFunc(names, func(n string) bool { return !strings.HasPrefix(n, prefix) }) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("endpoints of %s never moved to %s*", svc, prefix)
}

// TestK8sWatcherSeesNewRollout: an update is reported as a rollout, with
// its revision and hash. How fast is TestK8sFigures' "watcher: lag".
func TestK8sWatcherSeesNewRollout(t *testing.T) {
	needCluster(t)
	ns := testNamespace(t)
	createAndWait(t, liveDeployment(ns, "llm-api", "llm-api", img+"v1", 1, nil))
	w := NewWatcher(cluster.cs, WatcherConfig{Namespace: ns})
	seen := make(chan Rollout, 4)
	w.Handle("llm-api", RolloutHandlerFunc(func(_ context.Context, r Rollout) { seen <- r }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	for !w.HasSynced() {
		time.Sleep(10 * time.Millisecond)
	}
	setImage(t, ns, "llm-api", img+"v2", nil, false)
	select {
	case r := <-seen:
		if r.Version != "v2" || r.Revision != 2 || r.PodTemplateHash == "" {
			t.Fatalf("rollout = %+v", r)
		}
	case <-time.After(time.Minute): // a hang guard, not a speed check
		t.Fatal("no rollout reported")
	}
}

// waitRevision waits until the Deployment controller has made revision n
// of ns/name (its ReplicaSet exists).
func waitRevision(t *testing.T, ns, name string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := cluster.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if revisionNumber(&d.ObjectMeta) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s never reached revision %d", ns, name, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
