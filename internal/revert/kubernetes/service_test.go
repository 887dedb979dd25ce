package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert"
)

func blueGreenObjects() (blue, green *appsv1.Deployment, objs []runtime.Object) {
	blue = deployment("llm-api-blue", 2, podTemplate("llm-api", "llm-api:v1", map[string]string{"version": "v1"}))
	green = deployment("llm-api-green", 2, podTemplate("llm-api", "llm-api:v2", map[string]string{"version": "v2"}))
	green.CreationTimestamp = metav1.NewTime(time.Now())
	blue.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
	other := deployment("other", 1, podTemplate("other", "other:v1", map[string]string{"version": "v1"}))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "llm-api", Namespace: testNS, ResourceVersion: "7"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "llm-api", "version": "v2"}},
	}
	return blue, green, []runtime.Object{blue, green, other, svc}
}

func newServiceTarget(t *testing.T, objs []runtime.Object) (*Target, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	tg, err := NewForClient(cs, Config{Namespace: testNS, Mode: ModeServiceSelector, Service: "llm-api"})
	if err != nil {
		t.Fatal(err)
	}
	return tg, cs
}

func TestServiceSelectorSwitchesWithOnePatch(t *testing.T) {
	_, _, objs := blueGreenObjects()
	tg, cs := newServiceTarget(t, objs)
	ctx := context.Background()
	if st, _ := tg.Status(ctx); st.Current != "v2" {
		t.Fatalf("status = %+v", st)
	}
	revs, err := tg.Revisions(ctx)
	if err != nil || len(revs) != 2 || revs[0].Name != "llm-api-green" || revs[1].Version != "v1" {
		t.Fatalf("revisions = %+v, %v", revs, err)
	}
	res, err := tg.Revert(ctx, revert.Request{To: "v1", Reason: "p99 latency"})
	if err != nil || res.From != "v2" || res.To != "v1" {
		t.Fatalf("revert = %+v, %v", res, err)
	}
	if n := countVerb(cs, "patch", "services"); n != 1 {
		t.Fatalf("patches = %d, want 1", n)
	}
	svc, _ := cs.CoreV1().Services(testNS).Get(ctx, "llm-api", metav1.GetOptions{})
	if svc.Spec.Selector["version"] != "v1" || svc.Spec.Selector["app"] != "llm-api" {
		t.Fatalf("selector = %v", svc.Spec.Selector)
	}
	// Again: already there, nothing written.
	if _, err := tg.Revert(ctx, revert.Request{To: "llm-api-blue"}); err != nil {
		t.Fatal(err)
	}
	if n := countVerb(cs, "patch", "services"); n != 1 {
		t.Fatalf("patches after idempotent revert = %d, want 1", n)
	}
	if n := countVerb(cs, "create", "events"); n != 1 {
		t.Fatalf("events = %d, want 1", n)
	}
}

func TestServiceSelectorRefusesUnavailableTarget(t *testing.T) {
	blue, _, objs := blueGreenObjects()
	blue.Status.AvailableReplicas = 0
	tg, cs := newServiceTarget(t, objs)
	ctx := context.Background()
	if _, err := tg.Revert(ctx, revert.Request{To: "v1"}); !errors.Is(err, ErrTargetNotReady) {
		t.Fatalf("err = %v, want ErrTargetNotReady", err)
	}
	if _, err := tg.Revert(ctx, revert.Request{To: "v7"}); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("err = %v, want ErrUnknownVersion", err)
	}
	res, err := tg.Revert(ctx, revert.Request{DryRun: true})
	if err != nil || res.To != "v1" || !res.DryRun {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if n := countVerb(cs, "patch", "services"); n != 0 {
		t.Fatalf("patches = %d, want 0", n)
	}
}

func TestConfigValidateAndDefaults(t *testing.T) {
	c := Config{Namespace: "n", Deployment: "d"}.WithDefaults()
	if c.Mode != ModeRolloutUndo || c.SelectorKey != "version" || c.RolloutTimeout != 5*time.Minute {
		t.Fatalf("defaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{Namespace: "n", Deployment: "d"}).Validate(); err != nil {
		t.Fatalf("empty fields must be judged as their defaults: %v", err)
	}
	for _, tc := range []struct {
		cfg  Config
		want []string // path: message fragment, relative to the target's block
	}{
		{Config{Mode: "canary", RolloutTimeout: -1},
			[]string{"namespace: is required", `mode: must be rollout-undo, service-selector or httproute, not "canary"`, "rollout_timeout: must not be negative"}},
		{Config{Namespace: "n", Mode: ModeServiceSelector}, []string{"service: is required in mode service-selector"}},
		{Config{Namespace: "n"}, []string{"deployment: is required in mode rollout-undo"}},
	} {
		err := tc.cfg.Validate()
		var errs field.Errors
		if !errors.As(err, &errs) || len(errs) != len(tc.want) {
			t.Fatalf("%+v: Validate = %v, want %d field problems", tc.cfg, err, len(tc.want))
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", tc.cfg, err, w)
			}
		}
	}
	if _, err := NewForClient(nil, Config{}); err == nil || !strings.HasPrefix(err.Error(), "kubernetes target: namespace: is required") {
		t.Errorf("NewForClient = %v", err)
	}
}

func TestConfigYAMLShape(t *testing.T) {
	doc := `
kubeconfig: /etc/kube/config
namespace: llm
mode: service-selector
service: llm-router
selector_key: track
rollout_timeout: 90s
`
	var c Config
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{Kubeconfig: "/etc/kube/config", Namespace: "llm", Mode: ModeServiceSelector,
		Service: "llm-router", SelectorKey: "track", RolloutTimeout: 90 * time.Second}
	if c != want {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
}
