package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/signal/probe"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
)

// scrapePoll is how often ripcord asks Prometheus whether a new scrape has
// landed; metric queries then run once per scrape.
const scrapePoll = 100 * time.Millisecond

// optionalSources builds the sources beyond the proxy, in precedence order:
// the signal kinds in table order (Prometheus queries, probe files, OTLP,
// Datadog, CloudWatch, JSON endpoints), then response headers and pushes.
func (a *App) optionalSources(ctx context.Context, cfg *config.Config) (controller.Sources, error) {
	type block struct {
		service string
		b       config.Block
	}
	byKind := map[string][]block{}
	for _, s := range cfg.Services {
		for _, b := range s.Signals.Providers {
			if _, ok := kindNamed(signalKinds, b.Kind); !ok {
				return nil, fmt.Errorf("app: service %s: signals.%s: no such signal source", s.Name, b.Kind)
			}
			byKind[b.Kind] = append(byKind[b.Kind], block{s.Name, b})
		}
	}
	var out controller.Sources
	for _, k := range signalKinds {
		for _, sb := range byKind[k.name] {
			src, err := k.build(ctx, a, sb.service, sb.b)
			if err != nil {
				return nil, fmt.Errorf("app: service %s: signals.%s: %w", sb.service, k.name, err)
			}
			out = append(out, src)
		}
	}
	return append(out, a.headers, a.push), nil
}

// prometheusSource reads a service's metrics from PromQL queries, once per
// scrape of its job; the services on one job share one scrape watch and, in
// counts mode, one query per metric (prometheus.Hub).
func (a *App) prometheusSource(_ context.Context, service string, c prometheus.Config) (controller.OptionalSource, error) {
	src, err := prometheus.New(map[string]prometheus.Config{service: c},
		prometheus.WithLogger(a.log.With("component", "prometheus")), prometheus.WithVars(a.vars.get))
	if err != nil {
		return nil, err
	}
	if a.promHub == nil {
		a.promHub = prometheus.NewHub(scrapePoll)
	}
	g := a.promHub.Gate(src) // services on one job share its watch and queries
	if a.scrapes == nil {
		a.scrapes = map[string]*prometheus.Gated{}
	}
	a.scrapes[service] = g
	return g, nil
}

// PrometheusStats counts the batched Prometheus reads of every service (a
// zero HubStats without Prometheus signals); the scale benchmark reports it.
func (a *App) PrometheusStats() prometheus.HubStats {
	if a.promHub == nil {
		return prometheus.HubStats{}
	}
	return a.promHub.Stats()
}

// heartbeat is how often a service whose every judged metric comes from
// Prometheus is evaluated between scrapes: nothing new arrives then, but
// blind_grace, bake and suspect_grace run on evaluations.
const heartbeat = time.Second

// slowWhenIdle is idleOf's switch, turned off only by BenchmarkIdleServices
// to measure the cost it saves in the same run.
var slowWhenIdle = true

// idleOf slows a switch's service down to heartbeat while its live
// versions complete no request and have none waiting (activity is the
// switch's Activity; nil: never slows down). 500 proxied services with no
// traffic cost a fifth of a core at twenty evaluations a second each.
func idleOf(activity func() (uint64, bool)) controller.Idle {
	if activity == nil || !slowWhenIdle {
		return controller.Idle{}
	}
	var last uint64
	seen := false
	return controller.Idle{Every: heartbeat, Quiet: func() bool {
		n, waiting := activity()
		quiet := seen && n == last && !waiting
		last, seen = n, true
		return quiet
	}}
}

// trigger says when a service is evaluated. On the built-in switch
// (evidence non-nil): as the switch sees errors and slow answers, and at
// the policy interval otherwise (controller.OnEvidence) — at heartbeat
// while the switch's live versions see no request at all (idleOf). With a Prometheus
// job: also as each scrape of it lands (prometheus.Gated.Watch); without
// the switch, when Prometheus answers every metric the policy judges, the
// interval would only re-read the last scrape's numbers, so it slows to
// heartbeat. Neither: nil, the controller's own ticker.
func (a *App) trigger(sc config.Service, evidence <-chan struct{}, activity func() (uint64, bool)) controller.Trigger {
	var base controller.Trigger
	if evidence != nil {
		base = controller.OnEvidence(evidence, sc.Policy.Interval, idleOf(activity))
	}
	g := a.scrapes[sc.Name]
	if g == nil || !g.Watchable(sc.Name) {
		return base
	}
	if base == nil {
		tick := sc.Policy.Interval
		all := len(sc.Policy.Thresholds) > 0
		for m := range sc.Policy.Thresholds {
			all = all && g.Expected(sc.Name, m)
		}
		if all {
			tick = max(tick, heartbeat)
		}
		base = controller.Every(tick)
	}
	return controller.Merge(base, func(ctx context.Context) <-chan time.Time { return g.Watch(ctx, sc.Name) })
}

// probeSource sends a service's golden set to its live versions.
func (a *App) probeSource(_ context.Context, service string, c probe.Config) (controller.OptionalSource, error) {
	p, err := probe.Open(service, c, func() map[string]string { return a.Service(service).LiveVersions() },
		probe.WithLogger(a.log.With("component", "probe", "service", service)))
	if err != nil {
		return nil, err
	}
	a.probers = append(a.probers, p)
	return p, nil
}

// runProbers starts every golden-set prober.
func (a *App) runProbers(ctx context.Context) {
	for _, p := range a.probers {
		a.wg.Go(func() {
			if err := p.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("prober stopped", "err", err)
			}
		})
	}
}

// versionVars are per-version PromQL template variables: {{.Image}} and
// {{.PodTemplateHash}} for Kubernetes versions, so queries can select a
// rollout's pods by what Kubernetes labels them with.
type versionVars struct {
	mu sync.RWMutex
	m  map[string]map[string]string // service|version → vars
}

func (v *versionVars) set(service, version string, vars map[string]string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]map[string]string{}
	}
	v.m[service+"|"+version] = vars
}

func (v *versionVars) get(service, version string) map[string]string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.m[service+"|"+version]
}
