package controller

import (
	"context"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/store"
)

// seriesSpan is how much per-second history of the previous version the
// Mann-Whitney comparison uses.
const seriesSpan = 5 * time.Minute

// baselineCache holds per-second series read from the store; they change
// once a second, so reading them on every 50 ms tick would be waste.
type baselineCache struct {
	at       time.Time
	key      string
	cur, old []store.MetricPoint
}

// baselineMinSamples is how many requests the previous version's window
// must hold for its value to be a baseline: a p99 of a handful of requests
// says nothing.
const baselineMinSamples = 50

// readBaseline reads, once per watch, the previous version's value of every
// metric with a baseline rule: the version a revert would go to, over the
// window before the active one went live (in a blue-green switch the two
// never serve at once, so that is the freshest comparable traffic). Called
// from Tick (s.evalMu held, s.mu not) with the machine it snapshot.
func (s *Service) readBaseline(ctx context.Context, m machine) map[string]signal.Sample {
	if concurrent(m) {
		return map[string]signal.Sample{} // concurrent: canaryBaseline fills it
	}
	return s.baselineOver(ctx, m.fallbackFor(m.Active), m.WatchSince.Add(-s.cfg.Policy.Window), m.WatchSince, s.baselineRules())
}

func (s *Service) baselineRules() []detect.Rule {
	var rules []detect.Rule
	for _, r := range s.pol.Rules {
		if r.Baseline != nil {
			rules = append(rules, r)
		}
	}
	return rules
}

// canaryBaseline is a canary's baseline: the stable version measured in
// the same time window as the canary's step — both serve at once, so
// whatever the hour, the load or a shared dependency do to one they do to
// the other. A metric's value is fixed once stable has served
// baselineMinSamples in the step (a fraction of a second at most rates),
// so the sequential test's limit does not move under it. Called from Tick
// with s.evalMu held.
func (s *Service) canaryBaseline(ctx context.Context, m machine, g *detect.Guard, now time.Time) {
	var todo []detect.Rule
	for _, r := range s.baselineRules() {
		if _, ok := s.baseline[r.Metric]; !ok {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 || m.Canary.Stable == "" {
		return
	}
	for metric, smp := range s.baselineOver(ctx, m.Canary.Stable, m.WatchSince, now, todo) {
		s.baseline[metric] = smp
		g.SetBaseline(metric, smp.Value)
	}
}

// baselineOver reads version's values of rules' metrics over [since, to],
// keeping those with enough requests to mean something.
func (s *Service) baselineOver(ctx context.Context, base string, since, to time.Time, rules []detect.Rule) map[string]signal.Sample {
	if len(rules) == 0 || base == "" {
		return nil
	}
	none := func(string) []float64 { return nil }
	ev := s.deps.Signals.observe(ctx, s.log, s.cfg.Name, base, since, to, rules, none)
	out := map[string]signal.Sample{}
	for m, e := range ev {
		if !e.Missing && e.Sample.Samples >= baselineMinSamples {
			out[m] = e.Sample
		}
	}
	return out
}

// addBaseline gives the evidence of every metric with a baseline rule the
// previous version's value (for the fixed-window rule) and, for
// Mann-Whitney rules, both versions' per-second series.
func (s *Service) addBaseline(ctx context.Context, m machine, ev map[string]detect.Evidence, now time.Time) {
	mw := false
	for _, r := range s.pol.Rules {
		mw = mw || (r.Baseline != nil && r.Baseline.MannWhitney)
	}
	base := m.fallbackFor(m.Active)
	if concurrent(m) {
		base = m.Canary.Stable
	}
	if base == "" {
		return
	}
	if mw {
		s.loadSeries(ctx, m, base, now)
	}
	for _, r := range s.pol.Rules {
		e, ok := ev[r.Metric]
		if r.Baseline == nil || !ok || e.Missing {
			continue
		}
		if b, ok := s.baseline[r.Metric]; ok {
			e.Baseline = &b
		}
		if r.Baseline.MannWhitney && s.series != nil {
			e.Series, e.BaselineSeries = seriesOf(s.series.cur, r.Metric), seriesOf(s.series.old, r.Metric)
		}
		ev[r.Metric] = e
	}
}

// loadSeries refreshes the per-second series at most once a second.
func (s *Service) loadSeries(ctx context.Context, m machine, base string, now time.Time) {
	key := m.Active + "|" + base + "|" + m.WatchSince.String()
	if s.series == nil {
		s.series = &baselineCache{}
	}
	if s.series.key == key && now.Sub(s.series.at) < time.Second {
		return
	}
	cur, err := s.deps.Store.Metrics(ctx, s.cfg.Name, m.WatchSince, now)
	if err != nil {
		s.log.Warn("reading series failed", "err", err)
		return
	}
	old := s.series.old
	switch {
	case concurrent(m):
		old = cur // concurrent: stable's seconds of the same step
	case s.series.key != key:
		if old, err = s.deps.Store.Metrics(ctx, s.cfg.Name, m.WatchSince.Add(-seriesSpan), m.WatchSince); err != nil {
			s.log.Warn("reading baseline series failed", "err", err)
			return
		}
	}
	*s.series = baselineCache{at: now, key: key, cur: only(cur, m.Active), old: only(old, base)}
}

func only(pts []store.MetricPoint, version string) []store.MetricPoint {
	var out []store.MetricPoint
	for _, p := range pts {
		if p.Version == version {
			out = append(out, p)
		}
	}
	return out
}

// seriesOf extracts one metric's per-second values.
func seriesOf(pts []store.MetricPoint, metric string) []float64 {
	var out []float64
	for _, p := range pts {
		switch metric {
		case signal.ErrorRate:
			if p.Requests > 0 {
				out = append(out, float64(p.Errors)/float64(p.Requests))
			}
		case signal.LatencyP50:
			out = append(out, p.P50Ms)
		case signal.LatencyP99:
			out = append(out, p.P99Ms)
		case signal.Throughput:
			out = append(out, float64(p.Requests))
		default:
			if v, ok := p.Values[metric]; ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// concurrent reports whether m's version is judged against the stable
// version serving at the same time (a canary, or a shadow whose copies are
// of stable's requests) rather than against the minutes before the deploy.
func concurrent(m machine) bool {
	return (m.State == StateCanary || m.State == StateShadowing) && m.Canary.Stable != ""
}
