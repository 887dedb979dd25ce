package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kptr "k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gateway "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert/kubernetes"
)

// applyGatewayCRDs applies the Gateway API's standard-channel CRDs (from
// the module ripcord builds with) to the cluster kc, with the kubectl the
// cluster script built.
func applyGatewayCRDs(t *testing.T, kc string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("go list sigs.k8s.io/gateway-api: %v", err)
	}
	crds := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	bin, err := exec.Command("bash", filepath.Join("..", "..", "scripts", "k8s", "cluster.sh"), "build").Output()
	if err != nil {
		t.Fatalf("cluster.sh build: %v", err)
	}
	kubectl := filepath.Join(strings.TrimSpace(string(bin)), "kubectl")
	for _, args := range [][]string{
		{"apply", "--server-side", "--force-conflicts", "-f", crds},
		{"wait", "--for=condition=Established", "--timeout=60s", "crd/httproutes.gateway.networking.k8s.io"},
	} {
		if b, err := exec.Command(kubectl, append([]string{"--kubeconfig", kc}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
}

// TestHTTPRouteCanary: with strategy.canary and target.kubernetes.mode
// httproute, `ripcord deploy` of the canary backendRef walks the canary's
// weight on the real HTTPRoute through the steps as the pushed evidence
// shows it healthy, to 100 %; a bad canary after that (the other
// backendRef) goes back to weight 0 in one patch, and the route's other
// fields are never touched.
func TestHTTPRouteCanary(t *testing.T) {
	kc, cs := kwokCluster(t)
	applyGatewayCRDs(t, kc)
	ctx := t.Context()
	ns := fmt.Sprintf("e2e-route-%d", time.Now().UnixNano()%1_000_000)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	kcfg, err := kubernetes.RESTConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.NewForConfig(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string, w int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(name), Port: kptr.To[gatewayv1.PortNumber](80)}, Weight: kptr.To(w)}}
	}
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "llm-api", Namespace: ns},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames: []gatewayv1.Hostname{"llm.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{{Name: kptr.To[gatewayv1.SectionName]("api"),
				BackendRefs: []gatewayv1.HTTPBackendRef{ref("llm-api-stable", 100), ref("llm-api-canary", 0)}}}}}
	if _, err := gw.GatewayV1().HTTPRoutes(ns).Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	weights := func() (stable, canary int32) {
		r, err := gw.GatewayV1().HTTPRoutes(ns).Get(ctx, "llm-api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Spec.Hostnames) != 1 || r.Spec.Hostnames[0] != "llm.example.com" || len(r.Spec.Rules) != 1 || len(r.Spec.Rules[0].BackendRefs) != 2 {
			t.Fatalf("ripcord changed the route beyond the two weights: %+v", r.Spec)
		}
		b := r.Spec.Rules[0].BackendRefs
		return *b[0].Weight, *b[1].Weight
	}

	pol := fastPolicy()
	pol.Require, pol.MinSamples = 1, 10
	pol.Thresholds = map[string]config.Threshold{"quality_score": {Min: ptr(0.75), Critical: ptr(0.5)}}
	e := &env{t: t, dbPath: t.TempDir() + "/r.db"}
	e.cfg = &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + e.dbPath},
		Reports: config.Reports{Dir: t.TempDir()},
		Services: []config.Service{{Name: "llm-api", Policy: pol,
			Strategy: config.Strategy{Canary: &config.Canary{Steps: []int{10, 50, 100}, MinStep: 200 * time.Millisecond, MaxStep: time.Minute}},
			Target: config.Target{Providers: []config.Block{config.BlockOf("kubernetes", kubernetes.Config{Kubeconfig: field.File(kc), Namespace: ns,
				Mode: kubernetes.ModeHTTPRoute, HTTPRoute: kubernetes.HTTPRoute{Name: "llm-api", Rule: "api", Stable: "llm-api-stable", Canary: "llm-api-canary"}})}}}}}
	e.boot()
	defer e.stop()
	c := e.client
	if st, err := c.Service(ctx, "llm-api"); err != nil || st.Active != "llm-api-stable" {
		t.Fatalf("discovered %+v %v", st, err)
	}

	// Evidence for whichever version is judged: quality per version.
	var mu sync.Mutex
	quality := map[string]float64{"llm-api-stable": 0.95, "llm-api-canary": 0.95}
	pushCtx, stopPush := context.WithCancel(ctx)
	defer stopPush()
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pushCtx.Done():
				return
			case <-tick.C:
			}
			mu.Lock()
			q := map[string]float64{}
			for k, v := range quality {
				q[k] = v
			}
			mu.Unlock()
			for v, val := range q {
				_ = c.PushSignals(pushCtx, "llm-api", api.SignalsRequest{Version: v, Samples: 20, Values: map[string]float64{"quality_score": val}})
			}
		}
	}()

	if _, err := c.Deploy(ctx, "llm-api", "llm-api-canary", ""); err != nil {
		t.Fatalf("deploy of the canary backendRef: %v", err)
	}
	seen := map[int32]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, cw := weights()
		seen[cw] = true
		if cw == 100 {
			break
		}
		if time.Now().After(deadline) {
			st, _ := c.Service(ctx, "llm-api")
			t.Fatalf("the canary never reached 100 %%: weights seen %v, status %+v", seen, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("canary weights seen on the HTTPRoute: %v", seen)
	if !seen[10] && !seen[50] {
		t.Errorf("the canary jumped to 100 %% without its steps: weights seen %v", seen)
	}
	waitSvc(t, c, "the canary promoted", func(s statusT) bool { return s.Active == "llm-api-canary" && s.Canary == nil })
	if sw, cw := weights(); sw != 0 || cw != 100 {
		t.Fatalf("after promotion stable %d canary %d", sw, cw)
	}

	// The other side, now the canary, is bad: back to weight 0.
	mu.Lock()
	quality["llm-api-stable"] = 0.2
	mu.Unlock()
	if _, err := c.Deploy(ctx, "llm-api", "llm-api-stable", ""); err != nil {
		t.Fatal(err)
	}
	s := waitSvc(t, c, "the bad canary reverted", func(s statusT) bool { return s.Active == "llm-api-canary" && s.Canary == nil && s.IncidentID != "" })
	if sw, cw := weights(); sw != 0 || cw != 100 {
		t.Fatalf("after the bad canary: stable %d canary %d, want 0 and 100 (incident %s)", sw, cw, s.IncidentID)
	}
}
