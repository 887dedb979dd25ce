package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
	gateway "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ripcord/ripcord/internal/revert"
)

// applyManifest server-side-applies every document of a file in
// deploy/kubernetes, as `kubectl apply --server-side` would.
func applyManifest(t *testing.T, file string, dryRun bool) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	return applyYAML(t, file, data, dryRun)
}

// applyYAML server-side-applies every document of data (named file in
// errors).
func applyYAML(t *testing.T, file string, data []byte, dryRun bool) []*unstructured.Unstructured {
	t.Helper()
	dc := discovery.NewDiscoveryClientForConfigOrDie(cluster.cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn := dynamic.NewForConfigOrDie(cluster.cfg)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %s: %v", file, gvk, err)
		}
		body, _ := obj.MarshalJSON()
		opts := metav1.PatchOptions{FieldManager: "ripcord-test", Force: ptr.To(true)}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		res := dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
		if obj.GetNamespace() == "" {
			res = dyn.Resource(m.Resource)
		}
		if _, err := res.Patch(context.Background(), obj.GetName(), types.ApplyPatchType, body, opts); err != nil {
			t.Fatalf("%s: apply %s %s: %v", file, gvk.Kind, obj.GetName(), err)
		}
		objs = append(objs, obj)
	}
	return objs
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := cluster.cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// serviceAccountClient mints a token for ripcord's ServiceAccount with the
// TokenRequest API and returns a client that uses only that token.
func serviceAccountClient(t *testing.T) (kubernetes.Interface, *rest.Config) {
	t.Helper()
	return serviceAccountClientFor(t, "ripcord", "ripcord")
}

// serviceAccountClientFor is serviceAccountClient for ServiceAccount ns/name.
func serviceAccountClientFor(t *testing.T, ns, name string) (kubernetes.Interface, *rest.Config) {
	t.Helper()
	tr, err := cluster.cs.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(cluster.cfg)
	cfg.BearerToken = tr.Status.Token
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, cfg
}

func TestK8sManifestsApplyAndGrantLeastPrivilege(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	ensureNamespace(t, "llm")
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "configmap.yaml", "deployment.yaml"} {
		applyManifest(t, f, false)
	}
	applyManifest(t, "rbac-cluster.yaml", true) // validated, not granted
	name := "llm-api-" + time.Now().Format("150405")
	createAndWait(t, liveDeployment("llm", name, name, img+"v1", 2, nil))
	t.Cleanup(func() {
		_ = cluster.cs.AppsV1().Deployments("llm").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	setImage(t, "llm", name, img+"v2", nil, true)

	sa, _ := serviceAccountClient(t)
	tg, err := NewForClient(sa, Config{Namespace: "llm", Deployment: name, RolloutTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Revisions(ctx); err != nil {
		t.Fatalf("revisions as the ServiceAccount: %v", err)
	}
	if _, err := tg.Revert(ctx, revert.Request{To: "v1", Reason: "rbac test"}); err != nil {
		t.Fatalf("revert as the ServiceAccount: %v", err)
	}
	evs, err := cluster.cs.EventsV1().Events("llm").List(ctx, metav1.ListOptions{FieldSelector: "reason=" + EventReason + ",regarding.name=" + name})
	if err != nil || len(evs.Items) != 1 {
		t.Fatalf("events written as the ServiceAccount: %d, %v", len(evs.Items), err)
	}
	w := NewWatcher(sa, WatcherConfig{Namespace: "llm"})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	go func() { _ = w.Run(wctx) }()
	for !w.HasSynced() && wctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if !w.HasSynced() {
		t.Fatal("watcher could not list/watch deployments as the ServiceAccount")
	}

	forbidden := map[string]error{
		"delete deployment": sa.AppsV1().Deployments("llm").Delete(ctx, name, metav1.DeleteOptions{}),
		"list secrets":      listErr(sa.CoreV1().Secrets("llm").List(ctx, metav1.ListOptions{})),
		"other namespace":   listErr(sa.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{})),
	}
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as the ServiceAccount: err = %v, want 403 Forbidden", what, err)
		}
	}
	// ripcord's own Deployment is schedulable and becomes Available.
	waitComplete(t, "ripcord", "ripcord", time.Minute)
}

func listErr(_ any, err error) error { return err }

// The Role's httproutes rule is exactly what mode httproute uses: the
// ServiceAccount can read the route and set its weights, and nothing more.
func TestK8sManifestsGrantHTTPRouteWeights(t *testing.T) {
	needCluster(t)
	needGatewayAPI(t)
	ctx := context.Background()
	ensureNamespace(t, "llm")
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac.yaml"} {
		applyManifest(t, f, false)
	}
	admin, err := gateway.NewForConfig(cluster.cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := testRoute("llm")
	r.ResourceVersion, r.Name = "", "llm-api-"+time.Now().Format("150405")
	if _, err := admin.GatewayV1().HTTPRoutes("llm").Create(ctx, r, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.GatewayV1().HTTPRoutes("llm").Delete(context.Background(), r.Name, metav1.DeleteOptions{})
	})

	sa, saCfg := serviceAccountClient(t)
	gw, err := gateway.NewForConfig(saCfg)
	if err != nil {
		t.Fatal(err)
	}
	h := testHTTPRoute
	h.Name = r.Name
	tg, err := NewForClient(sa, Config{Namespace: "llm", Mode: ModeHTTPRoute, HTTPRoute: h}, WithGatewayClient(gw))
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.SetWeight(ctx, "llm-api", h.Stable, h.Canary, 5); err != nil {
		t.Fatalf("set weight as the ServiceAccount: %v", err)
	}
	if _, err := tg.Revert(ctx, revert.Request{Reason: "rbac test"}); err != nil {
		t.Fatalf("revert as the ServiceAccount: %v", err)
	}
	if w, err := tg.Weights(ctx); err != nil || w.CanaryWeight != 0 {
		t.Fatalf("weights %+v, %v", w, err)
	}
	routes := gw.GatewayV1().HTTPRoutes("llm")
	r2 := testRoute("llm")
	r2.ResourceVersion, r2.Name = "", r.Name+"-x"
	forbidden := map[string]error{
		"list httproutes":   listErr(routes.List(ctx, metav1.ListOptions{})),
		"create httproute":  listErr(routes.Create(ctx, r2, metav1.CreateOptions{})),
		"update httproute":  listErr(routes.Update(ctx, r, metav1.UpdateOptions{})),
		"delete httproute":  routes.Delete(ctx, r.Name, metav1.DeleteOptions{}),
		"get other ns":      listErr(gw.GatewayV1().HTTPRoutes("default").Get(ctx, r.Name, metav1.GetOptions{})),
		"patch httproute x": listErr(gw.GatewayV1().HTTPRoutes("default").Patch(ctx, r.Name, types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})),
	}
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as the ServiceAccount: err = %v, want 403 Forbidden", what, err)
		}
	}
}
