package kubernetes

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ripcord/ripcord/internal/config/field"
)

func backend(name string, weight *int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
		Weight:                 weight,
	}}
}

// testRoute has a named "api" rule with a header match and filter and three
// backendRefs (stable, canary and a third one ripcord must not touch), and
// a second rule with a backendRef named like the canary.
func testRoute(ns string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "llm-api", Namespace: ns, ResourceVersion: "7",
			Annotations: map[string]string{"team": "ml"}},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"llm.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{
				{
					Name: ptr.To[gatewayv1.SectionName]("static"),
					Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
						Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/static")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("llm-api-canary", nil)},
				},
				{
					Name: ptr.To[gatewayv1.SectionName]("api"),
					Matches: []gatewayv1.HTTPRouteMatch{{Headers: []gatewayv1.HTTPHeaderMatch{{
						Name: "X-Tier", Value: "gold"}}}},
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
						RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "X-Route", Value: "ripcord"}}}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{
						backend("llm-api-stable", ptr.To[int32](50)),
						backend("llm-api-shadow", ptr.To[int32](0)),
						backend("llm-api-canary", ptr.To[int32](50)),
					},
				},
			},
		},
	}
}

var testHTTPRoute = HTTPRoute{Name: "llm-api", Rule: "api", Stable: "llm-api-stable", Canary: "llm-api-canary"}

func TestLocateFindsTheNamedRuleAndBackendRefs(t *testing.T) {
	st, err := locate(testRoute("llm"), testHTTPRoute)
	if err != nil {
		t.Fatal(err)
	}
	if st.rule != 1 || st.stable != 0 || st.canary != 2 || st.stableW != 50 || st.canaryW != 50 {
		t.Fatalf("located %+v", st)
	}
	if st.share() != 50 || st.active() != "llm-api-canary" {
		t.Fatalf("share %d active %q", st.share(), st.active())
	}
	byIndex := testHTTPRoute
	byIndex.Rule, byIndex.RuleIndex = "", ptr.To(1)
	if st2, err := locate(testRoute("llm"), byIndex); err != nil || st2.rule != 1 {
		t.Fatalf("by index: %+v %v", st2, err)
	}
}

func TestLocateNamesWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*HTTPRoute)
		want string
	}{
		{"rule name", func(h *HTTPRoute) { h.Rule = "chat" }, `httproute.rule: HTTPRoute llm/llm-api has no rule named "chat" (named rules: static, api)`},
		{"rule index", func(h *HTTPRoute) { h.Rule, h.RuleIndex = "", ptr.To(2) }, "httproute.rule_index: HTTPRoute llm/llm-api has 2 rule(s), no rule 2"},
		{"stable", func(h *HTTPRoute) { h.Stable = "llm-api-blue" }, `httproute.stable: no Service backendRef named "llm-api-blue" in rule "api" of HTTPRoute llm/llm-api (its backendRefs: llm-api-stable, llm-api-shadow, llm-api-canary)`},
		{"canary in the other rule only", func(h *HTTPRoute) { h.Rule, h.Canary = "static", "llm-api-canary"; h.Stable = "llm-api-canary2" }, `httproute.stable: no Service backendRef named "llm-api-canary2" in rule "static"`},
		{"canary", func(h *HTTPRoute) { h.Canary = "llm-api-green" }, `httproute.canary: no Service backendRef named "llm-api-green"`},
	} {
		h := testHTTPRoute
		tc.edit(&h)
		_, err := locate(testRoute("llm"), h)
		if !errors.Is(err, ErrRouteNotFound) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrRouteNotFound with %q", tc.name, err, tc.want)
		}
	}
	r := testRoute("llm")
	r.Spec.Rules[1].BackendRefs = append(r.Spec.Rules[1].BackendRefs, backend("llm-api-canary", nil))
	if _, err := locate(r, testHTTPRoute); err == nil || !strings.Contains(err.Error(), `backendRef "llm-api-canary" appears twice (backendRefs 2 and 3)`) {
		t.Errorf("duplicate backendRef: %v", err)
	}
	r = testRoute("llm")
	r.Spec.Rules[1].BackendRefs[2].Kind = ptr.To[gatewayv1.Kind]("ServiceImport")
	if _, err := locate(r, testHTTPRoute); err == nil || !strings.Contains(err.Error(), "llm-api-canary (not a Service)") {
		t.Errorf("non-Service backendRef: %v", err)
	}
}

// The patch touches exactly the two weights and carries the
// resourceVersion precondition.
func TestWeightPatchSetsOnlyTheTwoWeights(t *testing.T) {
	st, err := locate(testRoute("llm"), testHTTPRoute)
	if err != nil {
		t.Fatal(err)
	}
	b, err := weightPatch(st, 5)
	if err != nil {
		t.Fatal(err)
	}
	var ops []map[string]any
	if err := json.Unmarshal(b, &ops); err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"replace","path":"/metadata/resourceVersion","value":"7"},` +
		`{"op":"add","path":"/spec/rules/1/backendRefs/0/weight","value":95},` +
		`{"op":"add","path":"/spec/rules/1/backendRefs/2/weight","value":5}]`
	if string(b) != want {
		t.Fatalf("patch\n%s\nwant\n%s", b, want)
	}
}

func TestShareAndActive(t *testing.T) {
	for _, tc := range []struct {
		stable, canary int32
		share          int
		active         string
		has10          bool
	}{
		{100, 0, 0, "s", false},
		{90, 10, 10, "c", true},
		{9, 1, 10, "c", true},
		{1, 1, 50, "c", false},
		{0, 0, -1, "", false},
		{0, 3, 100, "c", false},
	} {
		st := routeState{stableW: tc.stable, canaryW: tc.canary, stableName: "s", canaryName: "c"}
		if st.share() != tc.share || st.active() != tc.active || st.hasShare(10) != tc.has10 {
			t.Errorf("%d/%d: share %d active %q has10 %v", tc.stable, tc.canary, st.share(), st.active(), st.hasShare(10))
		}
	}
	st := routeState{stableName: "s", canaryName: "c"}
	for to, want := range map[string]int{"": 0, "s": 0, "c": 100} {
		if _, pct, err := st.canaryShareFor(to); err != nil || pct != want {
			t.Errorf("to %q: %d %v", to, pct, err)
		}
	}
	if _, _, err := st.canaryShareFor("v9"); !errors.Is(err, ErrUnknownVersion) || !strings.Contains(err.Error(), `"v9" (known: s, c)`) {
		t.Errorf("unknown version: %v", err)
	}
}

func TestHTTPRouteConfigValidate(t *testing.T) {
	ok := Config{Namespace: "llm", Mode: ModeHTTPRoute, HTTPRoute: testHTTPRoute}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{Namespace: "llm", Mode: ModeHTTPRoute}, []string{"httproute.name: is required", "httproute.stable: is required", "httproute.canary: is required"}},
		{Config{Namespace: "llm", Mode: ModeHTTPRoute, HTTPRoute: HTTPRoute{Name: "a/b/c", Rule: "api", RuleIndex: ptr.To(-1), Stable: "x", Canary: "x"}},
			[]string{`httproute.name: must be NAME or NAMESPACE/NAME, not "a/b/c"`, "httproute.rule_index: is set together with httproute.rule", "httproute.rule_index: must be 0 or more", "httproute.canary: must differ from httproute.stable"}},
		{Config{Namespace: "llm", Deployment: "d", HTTPRoute: testHTTPRoute}, []string{"httproute: is only used in mode httproute"}},
	} {
		err := tc.cfg.Validate()
		var errs field.Errors
		if !errors.As(err, &errs) || len(errs) != len(tc.want) {
			t.Fatalf("%+v: Validate = %v, want %d problems", tc.cfg, err, len(tc.want))
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}
	if _, err := NewForClient(nil, ok); err == nil || !strings.Contains(err.Error(), "needs a Gateway API client") {
		t.Errorf("NewForClient without a gateway client = %v", err)
	}
	if ns, name := (HTTPRoute{Name: "edge/llm"}).namespacedName("llm"); ns != "edge" || name != "llm" {
		t.Errorf("namespacedName = %s/%s", ns, name)
	}
}

func TestHTTPRouteConfigYAMLShape(t *testing.T) {
	doc := `
namespace: llm
mode: httproute
httproute:
  name: edge/llm-api
  rule_index: 1
  stable: llm-api-stable
  canary: llm-api-canary
`
	var c Config
	if err := yaml.UnmarshalWithOptions([]byte(doc), &c, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	h := c.HTTPRoute
	if c.Mode != ModeHTTPRoute || h.Name != "edge/llm-api" || h.RuleIndex == nil || *h.RuleIndex != 1 ||
		h.Stable != "llm-api-stable" || h.Canary != "llm-api-canary" || h.Rule != "" {
		t.Fatalf("decoded %+v / %+v", c, h)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
