package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gateway "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ripcord/ripcord/internal/revert"
)

// The Gateway API CRDs (standard channel, from the module ripcord builds
// with) are applied to the test cluster once, by the first test that
// needs them.
var gatewayCRDs struct {
	once sync.Once
	err  error
}

func needGatewayAPI(t testing.TB) {
	t.Helper()
	gatewayCRDs.once.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
		if err != nil {
			gatewayCRDs.err = err
			return
		}
		dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
		kc := []string{"--kubeconfig", cluster.kubeconfig}
		for _, args := range [][]string{
			{"apply", "--server-side", "--force-conflicts", "-f", dir},
			{"wait", "--for=condition=Established", "--timeout=60s", "crd/httproutes.gateway.networking.k8s.io"},
		} {
			if b, err := exec.Command(filepath.Join(cluster.binDir, "kubectl"), append(kc, args...)...).CombinedOutput(); err != nil {
				gatewayCRDs.err = errors.New("kubectl " + strings.Join(args, " ") + ": " + err.Error() + "\n" + string(b))
				return
			}
		}
	})
	if gatewayCRDs.err != nil {
		t.Fatalf("applying the Gateway API CRDs: %v", gatewayCRDs.err)
	}
}

// patchHook runs fn once, just before the first PATCH of an HTTPRoute is
// sent: the moment between ripcord's read and its write.
type patchHook struct {
	rt   http.RoundTripper
	once sync.Once
	fn   func()
}

func (h *patchHook) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/httproutes/") && h.fn != nil {
		h.once.Do(h.fn)
	}
	return h.rt.RoundTrip(r)
}

// routeClient is a Gateway API client whose requests are logged; hook, if
// set, runs before its first HTTPRoute PATCH.
func routeClient(t testing.TB, hook func()) (gateway.Interface, *requestLog) {
	t.Helper()
	cfg := rest.CopyConfig(cluster.cfg)
	log := &requestLog{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		log.rt = rt
		return &patchHook{rt: log, fn: hook}
	}
	gw, err := gateway.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return gw, log
}

// routeFixture creates testRoute in a fresh namespace and a Target on it.
func routeFixture(t testing.TB, h HTTPRoute, hook func()) (*Target, *requestLog, gateway.Interface, string) {
	t.Helper()
	ns := testNamespace(t)
	admin, err := gateway.NewForConfig(cluster.cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := testRoute(ns)
	r.ResourceVersion = ""
	if _, err := admin.GatewayV1().HTTPRoutes(ns).Create(context.Background(), r, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gw, log := routeClient(t, hook)
	tg, err := NewForClient(cluster.cs, Config{Namespace: ns, Mode: ModeHTTPRoute, HTTPRoute: h}, WithGatewayClient(gw))
	if err != nil {
		t.Fatal(err)
	}
	return tg, log, admin, ns
}

// rawRoute is the route as the API server stores it, without the fields
// every write changes (resourceVersion, generation, managedFields).
func rawRoute(t testing.TB, gw gateway.Interface, ns string) map[string]any {
	t.Helper()
	b, err := gw.GatewayV1().RESTClient().Get().Namespace(ns).Resource("httproutes").Name("llm-api").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	meta := m["metadata"].(map[string]any)
	delete(meta, "resourceVersion")
	delete(meta, "generation")
	delete(meta, "managedFields")
	return m
}

func setRawWeight(m map[string]any, rule, ref int, w int) {
	rules := m["spec"].(map[string]any)["rules"].([]any)
	refs := rules[rule].(map[string]any)["backendRefs"].([]any)
	refs[ref].(map[string]any)["weight"] = float64(w)
}

func canonical(t testing.TB, m map[string]any) string {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHTTPRouteRollbackIsOnePatchOfTheTwoWeights(t *testing.T) {
	needCluster(t)
	needGatewayAPI(t)
	tg, log, admin, ns := routeFixture(t, testHTTPRoute, nil)
	ctx := context.Background()
	before := rawRoute(t, admin, ns)
	if st, err := tg.Status(ctx); err != nil || st.Current != "llm-api-canary" {
		t.Fatalf("status before = %+v, %v", st, err)
	}

	log.reset()
	res, err := tg.Revert(ctx, revert.Request{Reason: "error_rate 12% > 5%"})
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "llm-api-canary" || res.To != "llm-api-stable" {
		t.Fatalf("result %+v", res)
	}
	if n := log.count("PATCH", "/httproutes/"); n != 1 {
		t.Fatalf("%d PATCHes of the route, want 1 (requests: %v)", n, log.reqs)
	}
	// Everything but the two weights is byte-identical: the other rule, the
	// matches, the filter, the third backendRef's weight, the annotations.
	setRawWeight(before, 1, 0, 100)
	setRawWeight(before, 1, 2, 0)
	if got, want := canonical(t, rawRoute(t, admin, ns)), canonical(t, before); got != want {
		t.Fatalf("route after rollback:\n%s\nwant:\n%s", got, want)
	}
	w, err := tg.Weights(ctx)
	if err != nil || w.CanaryPercent != 0 || w.StableWeight != 100 || w.CanaryWeight != 0 {
		t.Fatalf("weights %+v, %v", w, err)
	}
	// Idempotent: a second rollback writes nothing.
	log.reset()
	if res, err := tg.Revert(ctx, revert.Request{}); err != nil || res.From != "llm-api-stable" || res.To != "llm-api-stable" {
		t.Fatalf("second revert %+v, %v", res, err)
	}
	if n := log.count("PATCH", "/httproutes/"); n != 0 {
		t.Fatalf("second revert wrote %d times", n)
	}
	evs, err := cluster.cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(evs.Items) != 1 || evs.Items[0].Regarding.Kind != "HTTPRoute" || evs.Items[0].Reason != EventReason {
		t.Fatalf("events %+v, %v", evs, err)
	}
}

// Someone edits the route between ripcord's read and its write: the patch
// is refused (resourceVersion), ripcord re-reads, and both edits survive.
func TestHTTPRouteConcurrentEditIsPreserved(t *testing.T) {
	needCluster(t)
	needGatewayAPI(t)
	var admin gateway.Interface
	var ns string
	edit := func() {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			r, err := admin.GatewayV1().HTTPRoutes(ns).Get(context.Background(), "llm-api", metav1.GetOptions{})
			if err != nil {
				return err
			}
			rule := &r.Spec.Rules[1]
			rule.Matches = append(rule.Matches, gatewayv1.HTTPRouteMatch{Path: &gatewayv1.HTTPPathMatch{
				Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To("/v1/chat")}})
			// Move the shadow backendRef first: the canary's index changes.
			rule.BackendRefs = append(rule.BackendRefs[1:2:2], rule.BackendRefs[0], rule.BackendRefs[2])
			rule.BackendRefs[0].Weight = ptr.To[int32](7)
			_, err = admin.GatewayV1().HTTPRoutes(ns).Update(context.Background(), r, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Errorf("concurrent edit: %v", err)
		}
	}
	tg, log, a, n := routeFixture(t, testHTTPRoute, func() { edit() })
	admin, ns = a, n
	if _, err := tg.Revert(context.Background(), revert.Request{}); err != nil {
		t.Fatal(err)
	}
	if n := log.count("PATCH", "/httproutes/"); n != 2 {
		t.Fatalf("%d PATCHes, want 2 (one refused with a conflict, one after the re-read)", n)
	}
	r, err := admin.GatewayV1().HTTPRoutes(ns).Get(context.Background(), "llm-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refs := r.Spec.Rules[1].BackendRefs
	if len(r.Spec.Rules[1].Matches) != 2 || refs[0].Name != "llm-api-shadow" || *refs[0].Weight != 7 {
		t.Fatalf("the concurrent edit was lost: %+v", r.Spec.Rules[1])
	}
	if refs[1].Name != "llm-api-stable" || *refs[1].Weight != 100 || refs[2].Name != "llm-api-canary" || *refs[2].Weight != 0 {
		t.Fatalf("weights after the re-read: %+v", refs)
	}
}

// A patch built from a stale read is refused by the API server, not
// applied: the precondition is real.
func TestHTTPRouteStalePatchConflicts(t *testing.T) {
	needCluster(t)
	needGatewayAPI(t)
	tg, _, _, _ := routeFixture(t, testHTTPRoute, nil)
	ctx := context.Background()
	st, err := tg.readRoute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-canary", 25); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.patchWeights(ctx, st, 0); !apierrors.IsConflict(err) {
		t.Fatalf("stale patch: %v, want a conflict", err)
	}
	if w, _ := tg.Weights(ctx); w.CanaryWeight != 25 || w.StableWeight != 75 {
		t.Fatalf("weights %+v after the refused patch", w)
	}
}

func TestHTTPRouteSetWeightSteps(t *testing.T) {
	needCluster(t)
	needGatewayAPI(t)
	tg, log, _, _ := routeFixture(t, testHTTPRoute, nil)
	ctx := context.Background()
	for _, pct := range []int{1, 5, 25, 50, 100} {
		if err := tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-canary", pct); err != nil {
			t.Fatal(err)
		}
		w, err := tg.Weights(ctx)
		if err != nil || w.CanaryPercent != pct || w.CanaryWeight != int32(pct) || w.StableWeight != int32(100-pct) {
			t.Fatalf("step %d: %+v, %v", pct, w, err)
		}
	}
	// Already at the share (the route started at 50/50): no write.
	log.reset()
	if err := tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-canary", 100); err != nil || log.count("PATCH", "/httproutes/") != 0 {
		t.Fatalf("repeat step: %v, %d writes", err, log.count("PATCH", "/httproutes/"))
	}
	// Roles swapped: the configured canary backend is now the stable side.
	if err := tg.SetWeight(ctx, "llm-api", "llm-api-canary", "llm-api-stable", 10); err != nil {
		t.Fatal(err)
	}
	if w, _ := tg.Weights(ctx); w.StableWeight != 10 || w.CanaryWeight != 90 {
		t.Fatalf("swapped: %+v", w)
	}
	for _, bad := range []error{
		tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-blue", 10),
		tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-canary", 101),
	} {
		if bad == nil {
			t.Fatal("bad SetWeight accepted")
		}
	}
}

// A missing route or backendRef is an error naming it, and nothing is
// written.
func TestHTTPRouteMissingIsNamedAndNothingChanges(t *testing.T) {
	needCluster(t)
	needGatewayAPI(t)
	for _, tc := range []struct {
		name string
		h    HTTPRoute
		want string
	}{
		{"route", HTTPRoute{Name: "llm-apj", Stable: "llm-api-stable", Canary: "llm-api-canary"}, "httproute.name: HTTPRoute %s/llm-apj does not exist"},
		{"canary", HTTPRoute{Name: "llm-api", Rule: "api", Stable: "llm-api-stable", Canary: "llm-api-green"}, `httproute.canary: no Service backendRef named "llm-api-green" in rule "api" of HTTPRoute %s/llm-api`},
		{"rule", HTTPRoute{Name: "llm-api", RuleIndex: ptr.To(5), Stable: "llm-api-stable", Canary: "llm-api-canary"}, "httproute.rule_index: HTTPRoute %s/llm-api has 2 rule(s), no rule 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, log, admin, ns := routeFixture(t, tc.h, nil)
			before := canonical(t, rawRoute(t, admin, ns))
			_, err := tg.Revert(context.Background(), revert.Request{})
			want := strings.ReplaceAll(tc.want, "%s", ns)
			if !errors.Is(err, ErrRouteNotFound) || !strings.Contains(err.Error(), want) {
				t.Fatalf("Revert = %v, want ErrRouteNotFound with %q", err, want)
			}
			if _, err := tg.Status(context.Background()); !errors.Is(err, ErrRouteNotFound) {
				t.Fatalf("Status = %v", err)
			}
			if n := log.count("PATCH", ""); n != 0 || canonical(t, rawRoute(t, admin, ns)) != before {
				t.Fatalf("%d writes; route changed", n)
			}
		})
	}
}
