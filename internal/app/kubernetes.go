package app

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"

	k8s "k8s.io/client-go/kubernetes"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/lazylog"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/kubernetes"
)

// kubeTarget builds the Kubernetes target of sc, fills sc.Versions (oldest
// first, the image as "url") and sc.Active from the cluster, and registers
// sc for new rollouts with the namespace's watcher. progress receives the
// rollout status while a revert waits.
func (a *App) kubeTarget(ctx context.Context, sc *config.Service, kc kubernetes.Config, progress func(string)) (revert.Target, error) {
	kc = kc.WithDefaults()
	cs, err := kubernetes.NewClientset(kc)
	if err != nil {
		return nil, fmt.Errorf("app: service %s: %w", sc.Name, err)
	}
	opts := []kubernetes.Option{kubernetes.WithLogger(lazylog.With(a.log, "component", "kubernetes", "service", sc.Name)),
		kubernetes.WithProgress(func(p kubernetes.Progress) {
			progress(fmt.Sprintf("rolling out: %d/%d updated, %d ready, %d available (%s)", p.Updated, p.Desired, p.Ready, p.Available, p.Elapsed.Round(100_000_000)))
		})}
	if kc.Mode == kubernetes.ModeHTTPRoute {
		gw, err := kubernetes.NewGatewayClientset(kc)
		if err != nil {
			return nil, fmt.Errorf("app: service %s: %w", sc.Name, err)
		}
		opts = append(opts, kubernetes.WithGatewayClient(gw))
	}
	t, err := kubernetes.NewForClient(cs, kc, opts...)
	if err != nil {
		return nil, fmt.Errorf("app: service %s: %w", sc.Name, err)
	}
	revs, err := t.Revisions(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: service %s: list revisions of %s/%s: %w", sc.Name, kc.Namespace, cmp.Or(kc.Deployment, kc.Service, kc.HTTPRoute.Name), err)
	}
	st, err := t.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: service %s: %w", sc.Name, err)
	}
	sc.Versions = nil
	for _, r := range slices.Backward(revs) { // newest first → oldest first
		if !slices.ContainsFunc(sc.Versions, func(v config.Version) bool { return v.Name == r.Version }) {
			sc.Versions = append(sc.Versions, config.Version{Name: r.Version, URL: r.Image})
		}
		a.vars.set(sc.Name, r.Version, map[string]string{"Image": r.Image, "PodTemplateHash": r.PodTemplateHash})
	}
	sc.Active = st.Current
	a.watch(cs, kc, sc.Name, a.log)
	return t, nil
}

// watch registers a service with the (one per namespace) rollout watcher.
func (a *App) watch(cs k8s.Interface, kc kubernetes.Config, service string, log *slog.Logger) {
	key := string(kc.Kubeconfig) + "|" + kc.Namespace
	w, ok := a.watcherBy[key]
	if !ok {
		w = kubernetes.NewWatcher(cs, kubernetes.WatcherConfig{Namespace: kc.Namespace, Container: kc.Container,
			Logger: log.With("component", "kubernetes-watcher", "namespace", kc.Namespace)})
		a.watcherBy[key] = w
		a.watchers = append(a.watchers, w)
	}
	w.Handle(kc.Deployment, kubernetes.RolloutHandlerFunc(func(ctx context.Context, r kubernetes.Rollout) {
		if r.PodTemplateHash != "" {
			a.vars.set(service, r.Version, map[string]string{"Image": r.Image, "PodTemplateHash": r.PodTemplateHash})
		}
		if svc := a.Service(service); svc != nil {
			svc.Observed(ctx, r.Version, r.Image, r.ChangeCause)
		}
	}))
}

// runWatchers starts every namespace's informer.
func (a *App) runWatchers(ctx context.Context) {
	for _, w := range a.watchers {
		a.wg.Go(func() {
			if err := w.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("kubernetes watcher stopped", "err", err)
			}
		})
	}
}
