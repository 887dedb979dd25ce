package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// progressDeadlineExceeded is the Progressing condition reason the
// Deployment controller sets when a rollout stalls past
// spec.progressDeadlineSeconds.
const progressDeadlineExceeded = "ProgressDeadlineExceeded"

// waitRollout watches the Deployment (no polling) until its rollout is
// complete, reporting progress, or fails with ErrRolloutTimeout at the
// rollout_timeout deadline.
func (t *Target) waitRollout(ctx context.Context, start time.Time) error {
	wctx, cancel := context.WithTimeoutCause(ctx, t.cfg.RolloutTimeout, ErrRolloutTimeout)
	defer cancel()
	var last Progress
	var lastDeployment *appsv1.Deployment
	_, err := watchtools.UntilWithSync(wctx, t.deploymentLW(), &appsv1.Deployment{}, nil,
		func(ev watch.Event) (bool, error) {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				return false, nil
			}
			if ev.Type == watch.Deleted {
				return false, fmt.Errorf("kubernetes: deployment %s was deleted during the rollback", d.Name)
			}
			lastDeployment = d
			if d.Generation > d.Status.ObservedGeneration {
				return false, nil // status still describes the previous template
			}
			p := progressOf(d)
			p.Elapsed, p.Written = t.now().Sub(start), true
			if p.Updated != last.Updated || p.Ready != last.Ready || p.Available != last.Available || p.Desired != last.Desired {
				last = p
				t.report(p)
			}
			return rolloutComplete(d, start)
		})
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrRolloutTimeout) {
		return err
	}
	if ctx.Err() == nil && errors.Is(context.Cause(wctx), ErrRolloutTimeout) {
		return fmt.Errorf("%w: %s after %s (%s)", ErrRolloutTimeout, t.cfg.Deployment,
			t.cfg.RolloutTimeout, describeRollout(lastDeployment))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("kubernetes: waiting for rollout of %s: %w", t.cfg.Deployment, ctx.Err())
	}
	return fmt.Errorf("kubernetes: waiting for rollout of %s: %w", t.cfg.Deployment, err)
}

// deploymentLW lists and watches the one Deployment by name.
func (t *Target) deploymentLW() cache.ListerWatcher {
	fs := fields.OneTermEqualSelector("metadata.name", t.cfg.Deployment).String()
	api := t.cs.AppsV1().Deployments(t.cfg.Namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fs
			return api.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fs
			return api.Watch(ctx, o)
		},
	}
	// Streaming lists when the client supports them (a real API server),
	// plain list+watch otherwise (the fake clientset), as informers do.
	return cache.ToListWatcherWithWatchListSemantics(lw, t.cs)
}

func progressOf(d *appsv1.Deployment) Progress {
	return Progress{
		Updated:   d.Status.UpdatedReplicas,
		Ready:     d.Status.ReadyReplicas,
		Available: d.Status.AvailableReplicas,
		Desired:   desiredReplicas(d),
	}
}

func desiredReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// rolloutComplete is kubectl rollout status's test: the controller has seen
// the latest spec, every replica runs the new template and is available,
// and no old replica is left. A ProgressDeadlineExceeded condition newer
// than the revert fails the wait at once.
func rolloutComplete(d *appsv1.Deployment, since time.Time) (bool, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return false, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == progressDeadlineExceeded &&
			!c.LastUpdateTime.Time.Before(since.Truncate(time.Second)) {
			return false, fmt.Errorf("%w: %s: %s", ErrRolloutTimeout, d.Name, c.Message)
		}
	}
	want := desiredReplicas(d)
	s := d.Status
	return s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want, nil
}

func describeRollout(d *appsv1.Deployment) string {
	if d == nil {
		return "no status seen"
	}
	s := d.Status
	msg := fmt.Sprintf("%d/%d updated, %d ready, %d available, %d total",
		s.UpdatedReplicas, desiredReplicas(d), s.ReadyReplicas, s.AvailableReplicas, s.Replicas)
	for _, c := range s.Conditions {
		if c.Status != corev1.ConditionTrue || c.Type == appsv1.DeploymentReplicaFailure {
			msg += fmt.Sprintf("; %s=%s %s", c.Type, c.Status, c.Message)
		}
	}
	return msg
}
