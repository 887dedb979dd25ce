package app

import (
	"context"
	"fmt"
	"log/slog"
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
// Prometheus queries, probe files, then pushes.
func (a *App) optionalSources(cfg *config.Config, log *slog.Logger) (controller.Sources, error) {
	var out controller.Sources
	prom := map[string]prometheus.Config{}
	for _, s := range cfg.Services {
		if s.Signals.Prometheus != nil {
			prom[s.Name] = *s.Signals.Prometheus
		}
	}
	if len(prom) > 0 {
		src, err := prometheus.New(prom, prometheus.WithLogger(log.With("component", "prometheus")), prometheus.WithVars(a.vars.get))
		if err != nil {
			return nil, fmt.Errorf("app: signals.prometheus: %w", err)
		}
		out = append(out, prometheus.NewGated(src, scrapePoll))
	}
	for _, s := range cfg.Services {
		if s.Signals.Probe == nil {
			continue
		}
		name := s.Name
		p, err := probe.Open(name, *s.Signals.Probe, func() map[string]string { return a.Service(name).LiveVersions() },
			probe.WithLogger(log.With("component", "probe", "service", name)))
		if err != nil {
			return nil, fmt.Errorf("app: services %s: signals.probe: %w", name, err)
		}
		a.probers = append(a.probers, p)
		out = append(out, p)
	}
	return append(out, a.headers, a.push), nil
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
