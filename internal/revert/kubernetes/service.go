package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/ripcord/ripcord/internal/revert"
)

func (t *Target) getService(ctx context.Context) (*corev1.Service, error) {
	svc, err := t.cs.CoreV1().Services(t.cfg.Namespace).Get(ctx, t.cfg.Service, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: get service %s/%s: %w", t.cfg.Namespace, t.cfg.Service, err)
	}
	return svc, nil
}

func (t *Target) serviceStatus(ctx context.Context) (revert.Status, error) {
	svc, err := t.getService(ctx)
	if err != nil {
		return revert.Status{}, err
	}
	return revert.Status{Current: svc.Spec.Selector[t.cfg.SelectorKey]}, nil
}

// blueGreen reads the Service and the Deployments it can select: those
// whose pod template matches the Service's selector without selector_key
// and carries a selector_key label (the version). Newest first.
func (t *Target) blueGreen(ctx context.Context) (*corev1.Service, []Revision, error) {
	svc, err := t.getService(ctx)
	if err != nil {
		return nil, nil, err
	}
	base := labels.Set{}
	for k, v := range svc.Spec.Selector {
		if k != t.cfg.SelectorKey {
			base[k] = v
		}
	}
	// ResourceVersion "0" reads the API server's watch cache: a consistent
	// list waits for the cache to catch up with etcd (~80 ms after any
	// write), and only the candidates' availability is read here. The
	// Service itself is read consistently, and the patch is conditional.
	list, err := t.cs.AppsV1().Deployments(t.cfg.Namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes: list deployments in %s: %w", t.cfg.Namespace, err)
	}
	var revs []Revision
	for i := range list.Items {
		d := &list.Items[i]
		tl := labels.Set(d.Spec.Template.Labels)
		if tl[t.cfg.SelectorKey] == "" || !labels.SelectorFromSet(base).Matches(tl) {
			continue
		}
		version, image := versionOf(&d.Spec.Template, t.cfg.Container, t.cfg.SelectorKey)
		revs = append(revs, Revision{
			Number: revisionNumber(&d.ObjectMeta), Version: version, Image: image,
			ChangeCause: d.Annotations[ChangeCauseAnnotation], Created: d.CreationTimestamp.Time,
			Name: d.Name, available: d.Status.AvailableReplicas,
		})
	}
	sort.SliceStable(revs, func(i, j int) bool { return revs[i].Created.After(revs[j].Created) })
	return svc, revs, nil
}

// pickBlueGreen chooses the Deployment to switch to: To names its version
// or the Deployment; empty To means the newest other version.
func pickBlueGreen(revs []Revision, current, to string) (Revision, error) {
	for _, r := range revs {
		if to == "" && r.Version != current || to != "" && (r.Version == to || r.Name == to || r.Image == to) {
			return r, nil
		}
	}
	if to == "" || len(revs) < 2 {
		return Revision{}, fmt.Errorf("%w: no other Deployment matches the Service", ErrNothingToRevert)
	}
	return Revision{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownVersion, to, knownVersions(revs))
}

// revertService switches the Service's selector with one JSON merge patch
// that carries the resourceVersion it was read at, so a concurrent edit
// makes it fail with a conflict (and be recomputed) instead of being lost.
func (t *Target) revertService(ctx context.Context, req revert.Request) (revert.Result, error) {
	var (
		res   revert.Result
		svc   *corev1.Service
		wrote bool
	)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, revs, err := t.blueGreen(ctx)
		if err != nil {
			return err
		}
		svc, res.From = s, s.Spec.Selector[t.cfg.SelectorKey]
		target, err := pickBlueGreen(revs, res.From, req.To)
		if err != nil {
			return err
		}
		res.To = target.Version
		switch {
		case res.From == target.Version || req.DryRun:
			return nil
		case target.available == 0:
			return fmt.Errorf("%w: deployment %s (version %s)", ErrTargetNotReady, target.Name, target.Version)
		}
		svc, err = t.patchSelector(ctx, s.ResourceVersion, target.Version)
		wrote = err == nil
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNothingToRevert) || errors.Is(err, ErrUnknownVersion) || errors.Is(err, ErrTargetNotReady) {
			return res, err
		}
		return res, fmt.Errorf("kubernetes: switch service %s to %s: %w", t.cfg.Service, res.To, err)
	}
	if wrote {
		t.recordEvent(ctx, serviceRef(svc), changeCause(res.From, res.To, req.Reason))
	}
	return res, nil
}

// patchSelector is the switch: one PATCH request.
func (t *Target) patchSelector(ctx context.Context, resourceVersion, version string) (*corev1.Service, error) {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": resourceVersion},
		"spec":     map[string]any{"selector": map[string]string{t.cfg.SelectorKey: version}},
	})
	if err != nil {
		return nil, err
	}
	return t.cs.CoreV1().Services(t.cfg.Namespace).Patch(ctx, t.cfg.Service, types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: "ripcord"})
}
