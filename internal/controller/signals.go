package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/signal"
)

// BatchSource answers several metrics from one read (the proxy aggregates its
// window once for all request metrics). metrics maps each metric to the
// bounds it should count observations above (signal.Query.Bounds; nil for
// rates).
type BatchSource interface {
	ReadAll(ctx context.Context, q signal.Query, metrics map[string][]float64) (map[string]signal.Sample, error)
}

// OptionalSource answers metrics that only some services report (pushed LLM
// quality, later Prometheus queries). Expected says whether a metric should
// be reporting for a service, which turns its absence into Blind.
type OptionalSource interface {
	signal.Source
	Expected(service, metric string) bool
}

// Signals routes each metric to the source that measures it.
type Signals struct {
	// Live serves LiveMetrics (the proxy's own statistics).
	Live        BatchSource
	LiveMetrics []string
	// Optional serves every other metric.
	Optional OptionalSource
}

// observe gathers the evidence for every rule about version: the window
// [since, now] for people and the fixed-window rule, and the cumulative
// counts the sequential tests run on, counted above bounds(metric) for
// quantile metrics.
func (s Signals) observe(ctx context.Context, log *slog.Logger, service, version string, since, now time.Time,
	rules []detect.Rule, bounds func(metric string) []float64) map[string]detect.Evidence {
	ev := make(map[string]detect.Evidence, len(rules))
	live := map[string][]float64{}
	for _, r := range rules {
		// A source configured for this metric (a PromQL query, a probe
		// file, a pipeline that pushes it) wins over the proxy's view.
		if s.Optional == nil || !s.Optional.Expected(service, r.Metric) {
			if contains(s.LiveMetrics, r.Metric) {
				live[r.Metric] = bounds(r.Metric)
			}
			continue // otherwise never reported for this service: not blind
		}
		q := signal.Query{Service: service, Version: version, Metric: r.Metric, Since: since, At: now, Bounds: bounds(r.Metric)}
		smp, err := s.Optional.Read(ctx, q)
		if err != nil {
			if !errors.Is(err, signal.ErrNoData) {
				log.Debug("signal read failed", "metric", r.Metric, "err", err)
			}
			ev[r.Metric] = detect.Evidence{Missing: true}
			continue
		}
		ev[r.Metric] = detect.Evidence{Sample: smp}
	}
	if len(live) > 0 && s.Live != nil {
		q := signal.Query{Service: service, Version: version, Since: since, At: now}
		got, err := s.Live.ReadAll(ctx, q, live)
		for m := range live {
			if smp, ok := got[m]; ok && err == nil {
				ev[m] = detect.Evidence{Sample: smp}
			} else {
				ev[m] = detect.Evidence{Missing: true}
			}
		}
	}
	return ev
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Sources asks each source in turn; the first that expects a metric answers
// it. Order is precedence: explicit configuration (Prometheus queries, probe
// files) before pushes.
type Sources []OptionalSource

var _ OptionalSource = Sources(nil)

// Scoped is an OptionalSource that answers for one service only (a
// service's own Prometheus queries); Scope names it.
type Scoped interface {
	OptionalSource
	Scope() string
}

// For is the sources that may answer for service, in the same order: all
// but the Scoped ones of other services. A daemon's list holds a source per
// service and kind; asking each service's metrics of all of them would make
// every read cost as much as the fleet is large.
func (ss Sources) For(service string) Sources {
	keep := func(s OptionalSource) bool {
		sc, ok := s.(Scoped)
		return !ok || sc.Scope() == "" || sc.Scope() == service
	}
	n := 0
	for _, s := range ss {
		if keep(s) {
			n++
		}
	}
	out := make(Sources, 0, n) // exactly: each of 10,000 services holds one
	for _, s := range ss {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// Expected reports whether any source expects metric for service.
func (ss Sources) Expected(service, metric string) bool {
	for _, s := range ss {
		if s.Expected(service, metric) {
			return true
		}
	}
	return false
}

// Read asks the first source that expects the metric.
func (ss Sources) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	for _, s := range ss {
		if s.Expected(q.Service, q.Metric) {
			return s.Read(ctx, q)
		}
	}
	return signal.Sample{}, fmt.Errorf("signals: nothing provides %s for %s: %w", q.Metric, q.Service, signal.ErrNoData)
}
