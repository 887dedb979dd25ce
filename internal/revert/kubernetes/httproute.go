package kubernetes

import (
	"errors"
	"fmt"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ripcord/ripcord/internal/config/field"
)

// ErrRouteNotFound means the configured HTTPRoute, its rule or one of the
// two backendRefs does not exist (or is ambiguous). Nothing was written.
var ErrRouteNotFound = errors.New("kubernetes: httproute target not found")

// HTTPRoute names the Gateway API route, the rule in it and the two
// backendRefs whose weights ripcord sets. A version is a backendRef's
// Service name: the stable one or the canary one.
type HTTPRoute struct {
	// Name is the HTTPRoute, in the target's namespace, or "namespace/name".
	Name string `yaml:"name"`
	// Rule is the rule's name (Gateway API v1.6 rules may be named);
	// RuleIndex its position. Set at most one; neither means rule 0.
	Rule      string `yaml:"rule"`
	RuleIndex *int   `yaml:"rule_index"`
	// Stable and Canary are the names of the two Service backendRefs.
	Stable string `yaml:"stable"`
	Canary string `yaml:"canary"`
}

// MaxPercent is the total weight ripcord writes: the canary gets its share
// in percent and the stable backendRef the rest, so the weights read as a
// percentage in `kubectl get httproute -o yaml`.
const MaxPercent = 100

func (h HTTPRoute) validate(errs *field.Errors) {
	switch {
	case h.Name == "":
		errs.Add("httproute.name", "is required in mode %s: the HTTPRoute whose weights ripcord sets, e.g. llm-api or gateway-ns/llm-api", ModeHTTPRoute)
	case strings.Count(h.Name, "/") > 1 || strings.HasPrefix(h.Name, "/") || strings.HasSuffix(h.Name, "/"):
		errs.Add("httproute.name", "must be NAME or NAMESPACE/NAME, not %q", h.Name)
	}
	if h.Rule != "" && h.RuleIndex != nil {
		errs.Add("httproute.rule_index", "is set together with httproute.rule (%q): name the rule one way, by name or by index", h.Rule)
	}
	if h.RuleIndex != nil && *h.RuleIndex < 0 {
		errs.Add("httproute.rule_index", "must be 0 or more, not %d", *h.RuleIndex)
	}
	if h.Stable == "" {
		errs.Add("httproute.stable", "is required in mode %s: the backendRef (Service name) of the stable version, e.g. llm-api-stable", ModeHTTPRoute)
	}
	if h.Canary == "" {
		errs.Add("httproute.canary", "is required in mode %s: the backendRef (Service name) of the canary version, e.g. llm-api-canary", ModeHTTPRoute)
	}
	if h.Stable != "" && h.Stable == h.Canary {
		errs.Add("httproute.canary", "must differ from httproute.stable (both are %q)", h.Canary)
	}
}

// namespacedName splits Name into namespace (default ns) and name.
func (h HTTPRoute) namespacedName(ns string) (string, string) {
	if before, after, ok := strings.Cut(h.Name, "/"); ok {
		return before, after
	}
	return ns, h.Name
}

func (h HTTPRoute) ruleLabel() string {
	if h.Rule != "" {
		return fmt.Sprintf("rule %q", h.Rule)
	}
	return fmt.Sprintf("rule %d", h.ruleIndex())
}

func (h HTTPRoute) ruleIndex() int {
	if h.RuleIndex != nil {
		return *h.RuleIndex
	}
	return 0
}

// routeState is where the two weights live in one read of the route.
type routeState struct {
	route          *gatewayv1.HTTPRoute
	rule           int
	stable, canary int   // backendRef indices in the rule
	stableW        int32 // effective weights (an unset weight is 1)
	canaryW        int32
	stableName     string
	canaryName     string
}

// locate finds the rule and the two backendRefs h names. The error names
// what is missing and what is there, with the config key to fix.
func locate(route *gatewayv1.HTTPRoute, h HTTPRoute) (routeState, error) {
	ref := route.Namespace + "/" + route.Name
	st := routeState{route: route, rule: -1, stableName: h.Stable, canaryName: h.Canary}
	rules := route.Spec.Rules
	if h.Rule != "" {
		var names []string
		for i := range rules {
			if rules[i].Name != nil && string(*rules[i].Name) == h.Rule {
				st.rule = i
				break
			}
			if rules[i].Name != nil {
				names = append(names, string(*rules[i].Name))
			}
		}
		if st.rule < 0 {
			return st, fmt.Errorf("%w: httproute.rule: HTTPRoute %s has no rule named %q (named rules: %s)",
				ErrRouteNotFound, ref, h.Rule, listOrNone(names))
		}
	} else {
		if st.rule = h.ruleIndex(); st.rule >= len(rules) {
			return st, fmt.Errorf("%w: httproute.rule_index: HTTPRoute %s has %d rule(s), no rule %d",
				ErrRouteNotFound, ref, len(rules), st.rule)
		}
	}
	refs := rules[st.rule].BackendRefs
	var err error
	if st.stable, err = findBackend(refs, "httproute.stable", h.Stable); err == nil {
		st.canary, err = findBackend(refs, "httproute.canary", h.Canary)
	}
	if err != nil {
		return st, fmt.Errorf("%w: %w in %s of HTTPRoute %s (its backendRefs: %s)",
			ErrRouteNotFound, err, h.ruleLabel(), ref, backendNames(refs))
	}
	st.stableW, st.canaryW = weightOf(refs[st.stable]), weightOf(refs[st.canary])
	return st, nil
}

// findBackend returns the index of the one Service backendRef named name.
func findBackend(refs []gatewayv1.HTTPBackendRef, key, name string) (int, error) {
	found := -1
	for i := range refs {
		if !isService(refs[i].BackendObjectReference) || string(refs[i].Name) != name {
			continue
		}
		if found >= 0 {
			return -1, fmt.Errorf("%s: backendRef %q appears twice (backendRefs %d and %d): ripcord cannot tell which weight to set", key, name, found, i)
		}
		found = i
	}
	if found < 0 {
		return -1, fmt.Errorf("%s: no Service backendRef named %q", key, name)
	}
	return found, nil
}

func isService(r gatewayv1.BackendObjectReference) bool {
	return (r.Group == nil || *r.Group == "") && (r.Kind == nil || *r.Kind == "Service")
}

// weightOf is a backendRef's weight; the Gateway API default is 1.
func weightOf(r gatewayv1.HTTPBackendRef) int32 {
	if r.Weight == nil {
		return 1
	}
	return *r.Weight
}

func backendNames(refs []gatewayv1.HTTPBackendRef) string {
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		n := string(r.Name)
		if !isService(r.BackendObjectReference) {
			n += " (not a Service)"
		}
		names = append(names, n)
	}
	return listOrNone(names)
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// share is the canary's effective share of the rule's traffic between the
// two backendRefs, in percent (rounded down); -1 when both weights are 0.
func (st routeState) share() int {
	total := int64(st.stableW) + int64(st.canaryW)
	if total == 0 {
		return -1
	}
	return int(int64(st.canaryW) * MaxPercent / total)
}

// hasShare reports whether the weights already give the canary exactly
// percent % (10/90 and 1/9 both give 10 %), so nothing needs writing.
func (st routeState) hasShare(percent int) bool {
	total := int64(st.stableW) + int64(st.canaryW)
	return total > 0 && int64(st.canaryW)*MaxPercent == int64(percent)*total
}

// active is the live version: the canary while it has any weight, else the
// stable one; empty when neither has weight (the rule serves errors).
func (st routeState) active() string {
	switch {
	case st.canaryW > 0:
		return st.canaryName
	case st.stableW > 0:
		return st.stableName
	}
	return ""
}

// canaryShareFor maps "make version `to` live" to the canary's share: the
// stable version (or empty To) is canary 0 %, the canary version 100 %.
func (st routeState) canaryShareFor(to string) (string, int, error) {
	switch to {
	case "", st.stableName:
		return st.stableName, 0, nil
	case st.canaryName:
		return st.canaryName, MaxPercent, nil
	}
	return "", 0, fmt.Errorf("%w: %q (known: %s, %s)", ErrUnknownVersion, to, st.stableName, st.canaryName)
}
