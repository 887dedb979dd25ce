package kubernetes

import (
	"context"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

type rolloutLog struct {
	mu sync.Mutex
	rs []Rollout
	ch chan Rollout
}

func newRolloutLog() *rolloutLog { return &rolloutLog{ch: make(chan Rollout, 16)} }

func (l *rolloutLog) OnRollout(_ context.Context, r Rollout) {
	l.mu.Lock()
	l.rs = append(l.rs, r)
	l.mu.Unlock()
	l.ch <- r
}

func (l *rolloutLog) next(t *testing.T) Rollout {
	t.Helper()
	select {
	case r := <-l.ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no rollout reported")
		return Rollout{}
	}
}

func TestWatcherDispatchesNewRevisionsPerDeployment(t *testing.T) {
	d, objs := threeRevisions()
	other := deployment("other", 1, podTemplate("other", "other:v1", nil))
	objs = append(objs, other)
	cs := fake.NewClientset(objs...)
	w := NewWatcher(cs, WatcherConfig{Namespace: testNS})
	mine, rest := newRolloutLog(), newRolloutLog()
	w.Handle("llm-api", mine)
	w.HandleAll(rest)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for !w.HasSynced() {
		time.Sleep(5 * time.Millisecond)
	}

	// A new template; the controller then bumps the revision.
	d = d.DeepCopy()
	d.Spec.Template.Spec.Containers[0].Image = "registry.local:5000/llm-api:v4"
	d.Spec.Template.Labels = map[string]string{"app": "llm-api"}
	d.Annotations[RevisionAnnotation] = "3" // unchanged: not yet a rollout
	if _, err := cs.AppsV1().Deployments(testNS).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := replicaSet(d, 4, "h4", d.Spec.Template, "")
	if _, err := cs.AppsV1().ReplicaSets(testNS).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Annotations[RevisionAnnotation] = "4"
	if _, err := cs.AppsV1().Deployments(testNS).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := mine.next(t)
	if r.Deployment != "llm-api" || r.Revision != 4 || r.Version != "v4" || r.PodTemplateHash != "h4" || r.Initial {
		t.Fatalf("rollout = %+v", r)
	}

	other = other.DeepCopy()
	other.Annotations[RevisionAnnotation] = "3"
	if _, err := cs.AppsV1().Deployments(testNS).Update(ctx, other, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := rest.next(t); r.Deployment != "other" || r.Revision != 3 {
		t.Fatalf("fallback rollout = %+v", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(mine.rs) != 1 {
		t.Fatalf("llm-api rollouts = %+v, want exactly one", mine.rs)
	}
}

func TestWatcherNotifyExisting(t *testing.T) {
	_, objs := threeRevisions()
	cs := fake.NewClientset(objs...)
	w := NewWatcher(cs, WatcherConfig{Namespace: testNS, NotifyExisting: true})
	l := newRolloutLog()
	w.HandleAll(l)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	if r := l.next(t); !r.Initial || r.Revision != 3 || r.Version != "v3-canary" {
		t.Fatalf("initial rollout = %+v", r)
	}
}
