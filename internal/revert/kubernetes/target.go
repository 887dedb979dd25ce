package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	gateway "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ripcord/ripcord/internal/revert"
)

// Errors a Target returns (wrapped; test with errors.Is).
var (
	// ErrNothingToRevert is revert.ErrNothingToRevert.
	ErrNothingToRevert = revert.ErrNothingToRevert
	// ErrRolloutTimeout means the reverted Deployment did not finish rolling
	// out by rollout_timeout (or passed its progress deadline): the revert
	// was written but is not serving, so the controller escalates.
	ErrRolloutTimeout = errors.New("kubernetes: rollout did not complete in time")
	// ErrUnknownVersion means no ReplicaSet (or Deployment) runs the version.
	ErrUnknownVersion = errors.New("kubernetes: unknown version")
	// ErrPaused means the Deployment is paused; like kubectl, ripcord does
	// not roll back a paused Deployment.
	ErrPaused = errors.New("kubernetes: deployment is paused")
	// ErrTargetNotReady means the blue-green Deployment to switch to has no
	// available pods, so switching the Service would cause an outage.
	ErrTargetNotReady = errors.New("kubernetes: target has no available pods")
)

// Progress is a snapshot of a rollout, reported while Revert waits.
type Progress struct {
	Updated   int32
	Ready     int32
	Available int32
	Desired   int32
	// Elapsed is the time since Revert started.
	Elapsed time.Duration
	// Written is true once the revert has been written to the API server.
	Written bool
}

// Target reverts one service on Kubernetes. It is safe for concurrent use.
type Target struct {
	cs       kubernetes.Interface
	gw       gateway.Interface // mode httproute
	cfg      Config
	log      *slog.Logger
	progress func(Progress)
	now      func() time.Time
	instance string
}

var _ revert.Target = (*Target)(nil)

// Option changes a Target.
type Option func(*Target)

// WithProgress reports rollout progress while Revert waits. fn is called
// from Revert's goroutine and must not block.
func WithProgress(fn func(Progress)) Option { return func(t *Target) { t.progress = fn } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(t *Target) { t.log = l } }

// New builds a Target for cfg, connecting with cfg.Kubeconfig or the
// in-cluster ServiceAccount.
func New(cfg Config, opts ...Option) (*Target, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kubernetes target: %w", err)
	}
	cs, err := NewClientset(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Mode == ModeHTTPRoute {
		gw, err := NewGatewayClientset(cfg)
		if err != nil {
			return nil, err
		}
		opts = append([]Option{WithGatewayClient(gw)}, opts...)
	}
	return NewForClient(cs, cfg, opts...)
}

// NewForClient builds a Target on an existing clientset (mode httproute
// also needs WithGatewayClient).
func NewForClient(cs kubernetes.Interface, cfg Config, opts ...Option) (*Target, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kubernetes target: %w", err)
	}
	host, _ := os.Hostname()
	t := &Target{cs: cs, cfg: cfg, log: slog.Default(), now: time.Now, instance: host}
	for _, o := range opts {
		o(t)
	}
	if cfg.Mode == ModeHTTPRoute && t.gw == nil {
		return nil, fmt.Errorf("kubernetes target: mode %s needs a Gateway API client (WithGatewayClient)", ModeHTTPRoute)
	}
	t.log = t.log.With("target", "kubernetes", "namespace", cfg.Namespace, "mode", string(cfg.Mode))
	return t, nil
}

// Config returns the effective configuration (defaults applied).
func (t *Target) Config() Config { return t.cfg }

// Status reports the live version: the Deployment's current template in
// rollout-undo mode, the Service's selector value in service-selector mode,
// in httproute mode the canary backendRef while it has weight, else the
// stable one.
func (t *Target) Status(ctx context.Context) (revert.Status, error) {
	switch t.cfg.Mode {
	case ModeServiceSelector:
		return t.serviceStatus(ctx)
	case ModeHTTPRoute:
		return t.routeStatus(ctx)
	}
	d, err := t.getDeployment(ctx)
	if err != nil {
		return revert.Status{}, err
	}
	v, _ := versionOf(&d.Spec.Template, t.cfg.Container, VersionLabel)
	return revert.Status{Current: v}, nil
}

// Revert makes req.To the live version. See the package documentation for
// what To may name and for the guarantees. Result.Duration runs from the
// call to the rollout being complete (rollout-undo) or to the Service being
// switched and the Event recorded (service-selector), or to the HTTPRoute's
// weights being written and the Event recorded (httproute).
func (t *Target) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	start := t.now()
	var (
		res revert.Result
		err error
	)
	switch t.cfg.Mode {
	case ModeServiceSelector:
		res, err = t.revertService(ctx, req)
	case ModeHTTPRoute:
		res, err = t.revertRoute(ctx, req)
	default:
		res, err = t.revertRollout(ctx, req, start)
	}
	res.Duration = t.now().Sub(start)
	res.DryRun = req.DryRun
	if err != nil {
		t.log.WarnContext(ctx, "revert failed", "from", res.From, "to", req.To, "err", err)
		return res, err
	}
	t.log.InfoContext(ctx, "reverted", "from", res.From, "to", res.To,
		"dry_run", req.DryRun, "duration", res.Duration)
	return res, nil
}

// Revisions lists what the controller can revert to, newest first: the
// Deployment's ReplicaSets in rollout-undo mode, the candidate Deployments
// in service-selector mode.
func (t *Target) Revisions(ctx context.Context) ([]Revision, error) {
	switch t.cfg.Mode {
	case ModeServiceSelector:
		_, revs, err := t.blueGreen(ctx)
		return revs, err
	case ModeHTTPRoute:
		return t.routeRevisions(ctx)
	}
	d, err := t.getDeployment(ctx)
	if err != nil {
		return nil, err
	}
	revs, err := listRevisions(ctx, t.cs, d, t.cfg.Container)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return revs, nil
}

func (t *Target) report(p Progress) {
	if t.progress != nil {
		t.progress(p)
	}
}

// changeCause is the kubernetes.io/change-cause ripcord writes, which
// `kubectl rollout history` shows.
func changeCause(from, to, reason string) string {
	if reason == "" {
		reason = "unhealthy"
	}
	if from == "" {
		from = "current"
	}
	return fmt.Sprintf("ripcord: automatic rollback of %s → %s: %s", from, to, reason)
}
