package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Rollout is a Deployment starting a new revision.
type Rollout struct {
	Namespace  string
	Deployment string
	Version    string
	Image      string
	// PodTemplateHash is that of the revision's ReplicaSet (read with one
	// list call per rollout); empty if the ReplicaSet could not be found.
	PodTemplateHash string
	Revision        int64
	// ChangeCause is the Deployment's kubernetes.io/change-cause; ripcord's
	// own rollbacks start with "ripcord:".
	ChangeCause string
	// Initial is true for Deployments already there when the Watcher
	// started (only with WatcherConfig.NotifyExisting); PodTemplateHash is
	// left empty for them, to start without one API call per Deployment.
	Initial bool
}

// RolloutHandler is told about new rollouts of a Deployment. Calls for one
// Deployment never overlap; a slow handler holds up one worker.
type RolloutHandler interface {
	OnRollout(ctx context.Context, r Rollout)
}

// RolloutHandlerFunc adapts a function to RolloutHandler.
type RolloutHandlerFunc func(ctx context.Context, r Rollout)

// OnRollout calls f.
func (f RolloutHandlerFunc) OnRollout(ctx context.Context, r Rollout) { f(ctx, r) }

// WatcherConfig scopes a Watcher.
type WatcherConfig struct {
	// Namespace to watch; empty watches all namespaces (needs the
	// ClusterRole in deploy/kubernetes/rbac.yaml).
	Namespace string
	// LabelSelector filters Deployments by their own labels, e.g.
	// "ripcord.dev/watch=true".
	LabelSelector string
	// Container names the container whose image is the version (optional
	// for single-container pods).
	Container string
	// NotifyExisting also reports Deployments present at start (Initial).
	NotifyExisting bool
	// Workers dispatching to handlers (default 2).
	Workers int
	Logger  *slog.Logger
}

// Watcher reports new rollouts of many Deployments from one shared
// informer: one watch connection and one cache for the whole namespace,
// events deduplicated per Deployment in a work queue (the sample-controller
// pattern) and dispatched to per-Deployment handlers.
type Watcher struct {
	cfg      WatcherConfig
	cs       kubernetes.Interface
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	lister   appslisters.DeploymentLister
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *slog.Logger

	mu       sync.RWMutex
	handlers map[string]RolloutHandler
	fallback RolloutHandler
	seen     map[string]int64 // key → last revision dispatched (or baseline)
	initial  map[string]bool  // keys listed at start, not yet dispatched
}

// NewWatcher builds a Watcher; call Handle or HandleAll, then Run.
func NewWatcher(cs kubernetes.Interface, cfg WatcherConfig) *Watcher {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := []informers.SharedInformerOption{informers.WithTransform(slimDeployment)}
	if cfg.Namespace != "" {
		opts = append(opts, informers.WithNamespace(cfg.Namespace))
	}
	if cfg.LabelSelector != "" {
		sel := cfg.LabelSelector
		opts = append(opts, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, opts...)
	deployments := factory.Apps().V1().Deployments()
	w := &Watcher{
		cfg: cfg, cs: cs, factory: factory,
		informer: deployments.Informer(), lister: deployments.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "ripcord-deployments"}),
		log:      cfg.Logger.With("component", "kubernetes-watcher", "namespace", cfg.Namespace),
		handlers: map[string]RolloutHandler{},
		seen:     map[string]int64{},
		initial:  map[string]bool{},
	}
	return w
}

// Key is the handler key of a Deployment: "namespace/name".
func Key(namespace, name string) string { return namespace + "/" + name }

func (w *Watcher) key(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	return Key(w.cfg.Namespace, name)
}

// Handle routes the rollouts of one Deployment ("name" in a namespaced
// Watcher, or "namespace/name") to h; nil removes the route.
func (w *Watcher) Handle(name string, h RolloutHandler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h == nil {
		delete(w.handlers, w.key(name))
		return
	}
	w.handlers[w.key(name)] = h
}

// HandleAll receives the rollouts of Deployments without their own handler.
func (w *Watcher) HandleAll(h RolloutHandler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fallback = h
}

// HasSynced reports whether the initial list has been loaded.
func (w *Watcher) HasSynced() bool { return w.informer.HasSynced() }

// Run watches until ctx ends; call it once. It returns an error only when
// the cache cannot sync.
func (w *Watcher) Run(ctx context.Context) error {
	defer utilruntime.HandleCrash()
	defer w.queue.ShutDown()
	if _, err := w.informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    w.onAdd,
		UpdateFunc: w.onUpdate,
		DeleteFunc: w.onDelete,
	}); err != nil {
		return fmt.Errorf("kubernetes watcher: %w", err)
	}
	w.factory.Start(ctx.Done())
	defer w.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), w.informer.HasSynced) {
		return fmt.Errorf("kubernetes watcher: cache did not sync: %w", context.Cause(ctx))
	}
	w.log.InfoContext(ctx, "watching deployments", "count", len(w.informer.GetStore().ListKeys()))
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Go(func() {
			for w.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	w.queue.ShutDown()
	wg.Wait()
	return nil
}

func (w *Watcher) onAdd(obj any, initial bool) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return
	}
	key := Key(d.Namespace, d.Name)
	if initial {
		w.mu.Lock()
		if w.cfg.NotifyExisting {
			w.initial[key] = true
		} else {
			w.seen[key] = revisionNumber(&d.ObjectMeta)
		}
		w.mu.Unlock()
		if !w.cfg.NotifyExisting {
			return
		}
	}
	w.queue.Add(key)
}

func (w *Watcher) onUpdate(oldObj, newObj any) {
	o, ok1 := oldObj.(*appsv1.Deployment)
	n, ok2 := newObj.(*appsv1.Deployment)
	if !ok1 || !ok2 || o.Annotations[RevisionAnnotation] == n.Annotations[RevisionAnnotation] {
		return
	}
	w.queue.Add(Key(n.Namespace, n.Name))
}

func (w *Watcher) onDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if d, ok := obj.(*appsv1.Deployment); ok {
		w.mu.Lock()
		delete(w.seen, Key(d.Namespace, d.Name))
		delete(w.initial, Key(d.Namespace, d.Name))
		w.mu.Unlock()
	}
}

func (w *Watcher) processNext(ctx context.Context) bool {
	key, quit := w.queue.Get()
	if quit {
		return false
	}
	defer w.queue.Done(key)
	if err := w.sync(ctx, key); err != nil {
		w.log.WarnContext(ctx, "dispatch failed; retrying", "deployment", key, "err", err)
		w.queue.AddRateLimited(key)
		return true
	}
	w.queue.Forget(key)
	return true
}

// sync is the converge step for one Deployment: dispatch its current
// revision unless that revision was already dispatched.
func (w *Watcher) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	d, err := w.lister.Deployments(ns).Get(name)
	if err != nil {
		return nil // deleted since: nothing to report
	}
	rev := revisionNumber(&d.ObjectMeta)
	w.mu.RLock()
	last, known := w.seen[key]
	initial := w.initial[key]
	h := w.handlers[key]
	if h == nil {
		h = w.fallback
	}
	w.mu.RUnlock()
	if rev == 0 || known && last == rev {
		return nil // the controller has not assigned a revision yet, or a duplicate
	}
	r := w.rolloutOf(d, rev, initial)
	if !r.Initial {
		r.PodTemplateHash, err = w.templateHash(ctx, d, rev)
		if err != nil {
			return err
		}
	}
	w.mu.Lock()
	w.seen[key] = rev
	delete(w.initial, key)
	w.mu.Unlock()
	if h != nil {
		h.OnRollout(ctx, r)
	}
	return nil
}

func (w *Watcher) rolloutOf(d *appsv1.Deployment, rev int64, initial bool) Rollout {
	version, image := versionOf(&d.Spec.Template, w.cfg.Container, VersionLabel)
	return Rollout{
		Namespace: d.Namespace, Deployment: d.Name, Version: version, Image: image,
		Revision: rev, ChangeCause: d.Annotations[ChangeCauseAnnotation], Initial: initial,
	}
}

// templateHash finds the pod-template-hash of the ReplicaSet holding rev.
// Rollouts are rare, so one list call each is cheaper than a second
// informer caching every ReplicaSet.
func (w *Watcher) templateHash(ctx context.Context, d *appsv1.Deployment, rev int64) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	revs, err := listRevisions(ctx, w.cs, d, w.cfg.Container)
	if err != nil {
		return "", err
	}
	for _, r := range revs {
		if r.Number == rev {
			return r.PodTemplateHash, nil
		}
	}
	return "", nil
}

// slimDeployment drops what the watcher never reads before it is cached:
// managed fields and the last-applied configuration are most of a small
// Deployment's bytes.
func slimDeployment(obj any) (any, error) {
	if d, ok := obj.(*appsv1.Deployment); ok {
		d.ManagedFields = nil
		delete(d.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	}
	return obj, nil
}
