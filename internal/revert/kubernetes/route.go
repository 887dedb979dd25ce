package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gateway "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ripcord/ripcord/internal/revert"
)

// FieldManager is the field manager ripcord's writes carry: GitOps
// controllers can be told to leave its fields alone by this name.
const FieldManager = "ripcord"

// NewGatewayClientset builds a Gateway API client from cfg.Kubeconfig (or
// in-cluster), for mode httproute.
func NewGatewayClientset(cfg Config) (gateway.Interface, error) {
	rc, err := restConfigFor(cfg)
	if err != nil {
		return nil, err
	}
	gw, err := gateway.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: gateway api client: %w", err)
	}
	return gw, nil
}

// WithGatewayClient sets the Gateway API client mode httproute writes with.
func WithGatewayClient(gw gateway.Interface) Option { return func(t *Target) { t.gw = gw } }

// RouteWeights is what the HTTPRoute says about the two versions.
type RouteWeights struct {
	Route                      string // namespace/name
	Stable, Canary             string // the versions (backendRef names)
	StableWeight, CanaryWeight int32  // as written (an unset weight is 1)
	// CanaryPercent is the canary's share of the two backendRefs'
	// traffic, rounded down; -1 when both weights are 0.
	CanaryPercent int
}

// Weights reads the route and reports the two backendRefs' weights.
func (t *Target) Weights(ctx context.Context) (RouteWeights, error) {
	if t.cfg.Mode != ModeHTTPRoute {
		return RouteWeights{}, fmt.Errorf("kubernetes: weights need mode %s, not %s", ModeHTTPRoute, t.cfg.Mode)
	}
	st, err := t.readRoute(ctx)
	if err != nil {
		return RouteWeights{}, err
	}
	return RouteWeights{
		Route: st.route.Namespace + "/" + st.route.Name, Stable: st.stableName, Canary: st.canaryName,
		StableWeight: st.stableW, CanaryWeight: st.canaryW, CanaryPercent: st.share(),
	}, nil
}

// readRoute reads the HTTPRoute (consistently: the patch is conditional on
// exactly this read) and locates the two weights.
func (t *Target) readRoute(ctx context.Context) (routeState, error) {
	ns, name := t.cfg.HTTPRoute.namespacedName(t.cfg.Namespace)
	r, err := t.gw.GatewayV1().HTTPRoutes(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return routeState{}, fmt.Errorf("%w: httproute.name: HTTPRoute %s/%s does not exist (kubectl get httproute -n %s)",
			ErrRouteNotFound, ns, name, ns)
	}
	if err != nil {
		return routeState{}, fmt.Errorf("kubernetes: get httproute %s/%s: %w", ns, name, err)
	}
	return locate(r, t.cfg.HTTPRoute)
}

func (t *Target) routeStatus(ctx context.Context) (revert.Status, error) {
	st, err := t.readRoute(ctx)
	if err != nil {
		return revert.Status{}, err
	}
	return revert.Status{Current: st.active()}, nil
}

// routeRevisions lists the two versions, canary (the newer) first.
func (t *Target) routeRevisions(ctx context.Context) ([]Revision, error) {
	st, err := t.readRoute(ctx)
	if err != nil {
		return nil, err
	}
	return []Revision{
		{Number: 2, Version: st.canaryName, Name: st.canaryName, available: st.canaryW},
		{Number: 1, Version: st.stableName, Name: st.stableName, available: st.stableW},
	}, nil
}

// revertRoute makes req.To (default: the stable version) take all of the
// rule's traffic between the two backendRefs: on a rollback, one patch
// writes canary 0 and stable 100.
func (t *Target) revertRoute(ctx context.Context, req revert.Request) (revert.Result, error) {
	var res revert.Result
	wrote, route, err := t.converge(ctx, func(st routeState) (int, error) {
		res.From = st.active()
		to, pct, err := st.canaryShareFor(req.To)
		res.To = to
		return pct, err
	}, req.DryRun)
	if err != nil {
		if errors.Is(err, ErrRouteNotFound) || errors.Is(err, ErrUnknownVersion) {
			return res, err
		}
		return res, fmt.Errorf("kubernetes: set httproute weights for %s: %w", res.To, err)
	}
	if wrote {
		t.recordEvent(ctx, routeRef(route), changeCause(res.From, res.To, req.Reason))
	}
	return res, nil
}

// CanWeight reports whether this target splits traffic (mode httproute):
// the other modes move a whole Deployment or Service at once, and a canary
// there would silently be a blue-green deploy.
func (t *Target) CanWeight() bool { return t.cfg.Mode == ModeHTTPRoute }

// SetWeight gives the backendRef named canary percent % of the rule's
// traffic and the one named stable the rest (weights percent and
// 100-percent), in one conditional patch; nothing is written when the
// weights already give that share. stable and canary are the configured
// backendRefs in either order, so a promoted canary can become the stable
// side. service names the ripcord service, for the log.
func (t *Target) SetWeight(ctx context.Context, service, stable, canary string, percent int) error {
	if t.cfg.Mode != ModeHTTPRoute {
		return fmt.Errorf("kubernetes: canary weights need mode %s, not %s", ModeHTTPRoute, t.cfg.Mode)
	}
	if percent < 0 || percent > MaxPercent {
		return fmt.Errorf("kubernetes: canary share must be 0 to %d %%, not %d", MaxPercent, percent)
	}
	h := t.cfg.HTTPRoute
	if !(stable == h.Stable && canary == h.Canary) && !(stable == h.Canary && canary == h.Stable) {
		return fmt.Errorf("%w: stable %q and canary %q are not the backendRefs %s and %s",
			ErrUnknownVersion, stable, canary, h.Stable, h.Canary)
	}
	start := t.now()
	wrote, _, err := t.converge(ctx, func(st routeState) (int, error) {
		if canary == st.canaryName {
			return percent, nil
		}
		return MaxPercent - percent, nil // roles swapped: the configured stable side is the canary
	}, false)
	if err != nil {
		t.log.WarnContext(ctx, "set weight failed", "service", service, "canary", canary, "percent", percent, "err", err)
		return err
	}
	t.log.InfoContext(ctx, "canary weight set", "service", service, "canary", canary, "percent", percent,
		"written", wrote, "duration", t.now().Sub(start))
	return nil
}

// converge reads the route, asks share for the configured canary's share,
// and writes it unless the weights already give it (or dryRun). A conflict
// (someone edited the route since the read) re-reads and recomputes.
func (t *Target) converge(ctx context.Context, share func(routeState) (int, error), dryRun bool) (bool, *gatewayv1.HTTPRoute, error) {
	var (
		wrote bool
		route *gatewayv1.HTTPRoute
	)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		st, err := t.readRoute(ctx)
		if err != nil {
			return err
		}
		route = st.route
		pct, err := share(st)
		if err != nil || dryRun || st.hasShare(pct) {
			return err
		}
		route, err = t.patchWeights(ctx, st, pct)
		wrote = err == nil
		return err
	})
	return wrote, route, err
}

// weightPatch is a JSON patch (RFC 6902) that sets exactly the two
// weights, addressed by position, and carries the resourceVersion of the
// read that found those positions: the API server refuses it with a
// conflict if anything in the route changed since, so neither a moved
// backendRef nor anyone's concurrent edit can be overwritten. A merge
// patch could not do this: lists are replaced whole.
func weightPatch(st routeState, canaryPct int) ([]byte, error) {
	at := func(i int) string { return fmt.Sprintf("/spec/rules/%d/backendRefs/%d/weight", st.rule, i) }
	return json.Marshal([]map[string]any{
		{"op": "replace", "path": "/metadata/resourceVersion", "value": st.route.ResourceVersion},
		{"op": "add", "path": at(st.stable), "value": MaxPercent - canaryPct},
		{"op": "add", "path": at(st.canary), "value": canaryPct},
	})
}

// patchWeights is the write: one PATCH request.
func (t *Target) patchWeights(ctx context.Context, st routeState, canaryPct int) (*gatewayv1.HTTPRoute, error) {
	patch, err := weightPatch(st, canaryPct)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r, err := t.gw.GatewayV1().HTTPRoutes(st.route.Namespace).Patch(ctx, st.route.Name, types.JSONPatchType, patch,
		metav1.PatchOptions{FieldManager: FieldManager})
	if err == nil {
		t.log.Debug("httproute weights written", "route", st.route.Name, "canary_percent", canaryPct, "took", time.Since(start))
	}
	return r, err
}

func routeRef(r *gatewayv1.HTTPRoute) corev1.ObjectReference {
	return corev1.ObjectReference{
		APIVersion: gatewayv1.GroupVersion.String(), Kind: "HTTPRoute", Namespace: r.Namespace,
		Name: r.Name, UID: r.UID, ResourceVersion: r.ResourceVersion,
	}
}
