package kubernetes

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ripcord/ripcord/internal/revert"
)

// threeRevisions is llm-api at revision 3 (v3) with v1 and v2 behind it.
func threeRevisions() (*appsv1.Deployment, []runtime.Object) {
	v1 := podTemplate("llm-api", "registry.local:5000/llm-api:v1", nil)
	v2 := podTemplate("llm-api", "registry.local:5000/llm-api:v2", nil)
	v3 := podTemplate("llm-api", "registry.local:5000/llm-api:v3", map[string]string{VersionLabel: "v3-canary"})
	d := deployment("llm-api", 3, v3)
	d.Annotations[RevisionAnnotation] = "3"
	return d, []runtime.Object{d,
		replicaSet(d, 1, "h1", v1, "deploy v1"),
		replicaSet(d, 2, "h2", v2, ""),
		replicaSet(d, 3, "h3", v3, ""),
	}
}

func newRolloutTarget(t *testing.T, objs []runtime.Object, opts ...Option) (*Target, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	tg, err := NewForClient(cs, Config{Namespace: testNS, Deployment: "llm-api", RolloutTimeout: 2 * time.Second}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tg, cs
}

func countVerb(cs *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func TestRevisionsNewestFirstWithVersions(t *testing.T) {
	_, objs := threeRevisions()
	tg, _ := newRolloutTarget(t, objs)
	revs, err := tg.Revisions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range revs {
		got = append(got, strings.Join([]string{r.Version, r.PodTemplateHash, r.ChangeCause}, "|"))
	}
	want := []string{"v3-canary|h3|", "v2|h2|", "v1|h1|deploy v1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("revisions = %v, want %v", got, want)
	}
}

func TestRevertRestoresTemplateLikeRolloutUndo(t *testing.T) {
	_, objs := threeRevisions()
	var progress []Progress
	tg, cs := newRolloutTarget(t, objs, WithProgress(func(p Progress) { progress = append(progress, p) }))
	ctx := context.Background()
	res, err := tg.Revert(ctx, revert.Request{To: "v1", Reason: "error rate 12%"})
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "v3-canary" || res.To != "v1" || res.Duration <= 0 {
		t.Fatalf("result = %+v", res)
	}
	d, _ := cs.AppsV1().Deployments(testNS).Get(ctx, "llm-api", metav1.GetOptions{})
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.local:5000/llm-api:v1" {
		t.Fatalf("image = %s", img)
	}
	if _, ok := d.Spec.Template.Labels[PodTemplateHashLabel]; ok {
		t.Fatal("pod-template-hash label copied into the Deployment")
	}
	if _, ok := d.Spec.Template.Labels[VersionLabel]; ok {
		t.Fatal("v3's version label survived the rollback")
	}
	if got, want := d.Annotations[ChangeCauseAnnotation], "ripcord: automatic rollback of v3-canary → v1: error rate 12%"; got != want {
		t.Fatalf("change-cause = %q, want %q", got, want)
	}
	if d.Annotations[RevisionAnnotation] != "3" || d.Annotations["deployment.kubernetes.io/desired-replicas"] != "" {
		t.Fatalf("controller annotations copied: %v", d.Annotations)
	}
	evs, _ := cs.EventsV1().Events(testNS).List(ctx, metav1.ListOptions{})
	if len(evs.Items) != 1 || evs.Items[0].Reason != EventReason || evs.Items[0].Regarding.Name != "llm-api" {
		t.Fatalf("events = %+v", evs.Items)
	}
	if len(progress) == 0 || !progress[0].Written || progress[len(progress)-1].Available != 3 {
		t.Fatalf("progress = %+v", progress)
	}
}

func TestRevertIsIdempotentAndDryRunWritesNothing(t *testing.T) {
	_, objs := threeRevisions()
	tg, cs := newRolloutTarget(t, objs)
	ctx := context.Background()
	dry, err := tg.Revert(ctx, revert.Request{To: "revision:2", DryRun: true})
	if err != nil || !dry.DryRun || dry.To != "v2" {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if n := countVerb(cs, "update", "deployments"); n != 0 {
		t.Fatalf("dry run wrote %d times", n)
	}
	for range 2 {
		if _, err := tg.Revert(ctx, revert.Request{To: "registry.local:5000/llm-api:v2"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := countVerb(cs, "update", "deployments"); n != 1 {
		t.Fatalf("two reverts to the same version wrote %d times, want 1", n)
	}
	if st, _ := tg.Status(ctx); st.Current != "v2" {
		t.Fatalf("status = %+v", st)
	}
}

func TestRevertEmptyToMeansPreviousVersion(t *testing.T) {
	_, objs := threeRevisions()
	tg, _ := newRolloutTarget(t, objs)
	res, err := tg.Revert(context.Background(), revert.Request{})
	if err != nil || res.To != "v2" {
		t.Fatalf("revert = %+v, %v", res, err)
	}
}

func TestRevertErrors(t *testing.T) {
	ctx := context.Background()
	d, objs := threeRevisions()
	tg, _ := newRolloutTarget(t, objs)
	if _, err := tg.Revert(ctx, revert.Request{To: "v9"}); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("unknown version: %v", err)
	}
	only := deployment("llm-api", 1, d.Spec.Template)
	tg, _ = newRolloutTarget(t, []runtime.Object{only, replicaSet(only, 1, "h", only.Spec.Template, "")})
	if _, err := tg.Revert(ctx, revert.Request{}); !errors.Is(err, revert.ErrNothingToRevert) {
		t.Fatalf("single revision: %v", err)
	}
	d.Spec.Paused = true
	tg, _ = newRolloutTarget(t, objs)
	if _, err := tg.Revert(ctx, revert.Request{To: "v1"}); !errors.Is(err, ErrPaused) {
		t.Fatalf("paused: %v", err)
	}
}

func TestRevertRetriesOnConflict(t *testing.T) {
	_, objs := threeRevisions()
	tg, cs := newRolloutTarget(t, objs)
	var once sync.Once
	cs.PrependReactor("update", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		conflicted := false
		once.Do(func() { conflicted = true })
		if conflicted {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "llm-api", errors.New("changed"))
		}
		return false, nil, nil
	})
	if _, err := tg.Revert(context.Background(), revert.Request{To: "v1"}); err != nil {
		t.Fatal(err)
	}
	if g := countVerb(cs, "get", "deployments"); g != 2 {
		t.Fatalf("gets = %d, want 2 (re-read after the conflict)", g)
	}
}

func TestRevertTimesOutWhenPodsNeverBecomeAvailable(t *testing.T) {
	d, objs := threeRevisions()
	d.Status.AvailableReplicas, d.Status.ReadyReplicas = 0, 0
	tg, _ := newRolloutTarget(t, objs)
	tg.cfg.RolloutTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := tg.Revert(context.Background(), revert.Request{To: "v1"})
	if !errors.Is(err, ErrRolloutTimeout) {
		t.Fatalf("err = %v, want ErrRolloutTimeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("timed out after %s, deadline 300ms", el)
	}
}

func TestRolloutCompleteFollowsKubectl(t *testing.T) {
	since := time.Now()
	base := deployment("x", 3, podTemplate("x", "x:1", nil))
	cases := []struct {
		name string
		edit func(*appsv1.Deployment)
		done bool
		err  bool
	}{
		{"complete", func(*appsv1.Deployment) {}, true, false},
		{"generation not observed", func(d *appsv1.Deployment) { d.Generation = 2 }, false, false},
		{"old replicas left", func(d *appsv1.Deployment) { d.Status.Replicas = 4 }, false, false},
		{"not all updated", func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 2 }, false, false},
		{"not available", func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 2 }, false, false},
		{"stale deadline ignored", func(d *appsv1.Deployment) {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing,
				Reason: progressDeadlineExceeded, LastUpdateTime: metav1.NewTime(since.Add(-time.Hour))}}
		}, true, false},
		{"deadline exceeded", func(d *appsv1.Deployment) {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing,
				Reason: progressDeadlineExceeded, LastUpdateTime: metav1.NewTime(since.Add(time.Second))}}
		}, false, true},
	}
	for _, c := range cases {
		d := base.DeepCopy()
		c.edit(d)
		done, err := rolloutComplete(d, since)
		if done != c.done || (err != nil) != c.err || (err != nil && !errors.Is(err, ErrRolloutTimeout)) {
			t.Errorf("%s: done=%v err=%v", c.name, done, err)
		}
	}
}

func TestImageTagAndVersionOf(t *testing.T) {
	for image, want := range map[string]string{
		"llm-api:v1":                              "v1",
		"registry.local:5000/team/llm-api:v2.1":   "v2.1",
		"registry.local:5000/llm-api":             "registry.local:5000/llm-api",
		"llm-api@sha256:abc":                      "sha256:abc",
		"registry.local:5000/llm-api:v3@sha256:d": "sha256:d",
	} {
		if got := imageTag(image); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", image, got, want)
		}
	}
	tpl := podTemplate("a", "a:v1", nil)
	tpl.Spec.Containers = append(tpl.Spec.Containers, tpl.Spec.Containers[0])
	tpl.Spec.Containers[1].Name, tpl.Spec.Containers[1].Image = "sidecar", "envoy:1.30"
	if v, _ := versionOf(&tpl, "sidecar"); v != "1.30" {
		t.Errorf("version of sidecar = %q", v)
	}
	if v, _ := versionOf(&tpl, ""); v != "" {
		t.Errorf("two containers, none named: version = %q, want empty", v)
	}
}
