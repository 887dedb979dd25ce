package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/ripcord/ripcord/internal/revert"
)

// annotationsToSkip are the Deployment annotations a rollback must not take
// from the ReplicaSet, as in kubectl's DeploymentRollbacker.
var annotationsToSkip = map[string]bool{
	corev1.LastAppliedConfigAnnotation:          true,
	RevisionAnnotation:                          true,
	"deployment.kubernetes.io/revision-history": true,
	"deployment.kubernetes.io/desired-replicas": true,
	"deployment.kubernetes.io/max-replicas":     true,
	"deprecated.deployment.rollback.to":         true,
}

func (t *Target) getDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	d, err := t.cs.AppsV1().Deployments(t.cfg.Namespace).Get(ctx, t.cfg.Deployment, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: get deployment %s/%s: %w", t.cfg.Namespace, t.cfg.Deployment, err)
	}
	return d, nil
}

// plan is what one read of the Deployment decided.
type plan struct {
	deployment *appsv1.Deployment
	from       string
	target     Revision
	noop       bool
}

// planRollback reads the Deployment and its ReplicaSets and picks the
// revision to restore.
func (t *Target) planRollback(ctx context.Context, to string) (plan, error) {
	d, err := t.getDeployment(ctx)
	if err != nil {
		return plan{}, err
	}
	from, _ := versionOf(&d.Spec.Template, t.cfg.Container, VersionLabel)
	revs, err := listRevisions(ctx, t.cs, d, t.cfg.Container)
	if err != nil {
		return plan{from: from}, fmt.Errorf("kubernetes: %w", err)
	}
	target, err := pickRevision(revs, &d.Spec.Template, from, to)
	if err != nil {
		return plan{from: from}, err
	}
	p := plan{deployment: d, from: from, target: target}
	p.noop = equalIgnoreHash(&target.template, &d.Spec.Template)
	return p, nil
}

// revertRollout is the rollout-undo converge step: read, compare, write
// only when the template differs, then wait for the rollout.
func (t *Target) revertRollout(ctx context.Context, req revert.Request, start time.Time) (revert.Result, error) {
	var (
		res   revert.Result
		p     plan
		wrote bool
	)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		if p, err = t.planRollback(ctx, req.To); err != nil {
			return err
		}
		res.From, res.To = p.from, p.target.Version
		if p.noop || req.DryRun {
			return nil
		}
		if p.deployment.Spec.Paused {
			return fmt.Errorf("%w: resume %s before reverting it", ErrPaused, p.deployment.Name)
		}
		d := withRevision(p.deployment, p.target, changeCause(p.from, p.target.Version, req.Reason))
		updated, err := t.cs.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{FieldManager: "ripcord"})
		if err != nil {
			return err
		}
		p.deployment, wrote = updated, true
		return nil
	})
	if res.From == "" {
		res.From = p.from
	}
	if err != nil {
		if errors.Is(err, ErrNothingToRevert) || errors.Is(err, ErrUnknownVersion) || errors.Is(err, ErrPaused) {
			return res, err
		}
		return res, fmt.Errorf("kubernetes: rollback %s to revision %d: %w", t.cfg.Deployment, p.target.Number, err)
	}
	if req.DryRun {
		return res, nil
	}
	if wrote {
		t.report(Progress{Written: true, Desired: desiredReplicas(p.deployment), Elapsed: t.now().Sub(start)})
		t.recordEvent(ctx, eventRegarding(p.deployment), changeCause(p.from, p.target.Version, req.Reason))
	} else {
		t.log.InfoContext(ctx, "template already matches; waiting for the rollout only",
			"deployment", t.cfg.Deployment, "revision", p.target.Number)
	}
	return res, t.waitRollout(ctx, start)
}

// withRevision returns a copy of d running target's pod template, with the
// annotations kubectl's rollback sets: the ReplicaSet's (but not the
// controller's bookkeeping), and ripcord's change-cause. Annotations the
// Deployment has that the ReplicaSet lacks are kept.
func withRevision(d *appsv1.Deployment, target Revision, cause string) *appsv1.Deployment {
	d = d.DeepCopy()
	tpl := target.template.DeepCopy()
	delete(tpl.Labels, PodTemplateHashLabel)
	d.Spec.Template = *tpl
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	for k, v := range target.annotations {
		if !annotationsToSkip[k] {
			d.Annotations[k] = v
		}
	}
	d.Annotations[ChangeCauseAnnotation] = cause
	return d
}
