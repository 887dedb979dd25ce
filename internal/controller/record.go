package controller

import (
	"context"
	"math"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/store"
)

// metricRetention is how long per-second points are kept for reports.
const metricRetention = 7 * 24 * time.Hour

// record stores one second of statistics for every version that served
// traffic in it, so a post-incident report can chart before, during and
// after. Pushed metrics are stored with the version that reported them.
func (s *Service) record(ctx context.Context, now time.Time) {
	s.mu.Lock()
	versions := make([]string, 0, len(s.m.Versions))
	for _, v := range s.m.Versions {
		versions = append(versions, v.Name)
	}
	s.mu.Unlock()
	live := map[string][]float64{signal.ErrorRate: nil, signal.LatencyP50: nil, signal.LatencyP99: nil}
	read := s.deps.Signals.Live
	if read == nil {
		// Not behind the proxy: the configured sources (Prometheus) over
		// their own windows are the best per-second picture there is.
		read = optionalBatch{s.deps.Signals.Optional, s.cfg.Name}
	}
	var pts []store.MetricPoint
	for _, v := range versions {
		q := signal.Query{Service: s.cfg.Name, Version: v, Since: now.Add(-time.Second), At: now}
		got, err := read.ReadAll(ctx, q, live)
		if err != nil || got[signal.ErrorRate].Samples == 0 {
			continue
		}
		n := got[signal.ErrorRate].Samples
		p := store.MetricPoint{Service: s.cfg.Name, Version: v, At: now, Requests: n,
			Errors: int64(math.Round(got[signal.ErrorRate].Value * float64(n))),
			P50Ms:  got[signal.LatencyP50].Value, P99Ms: got[signal.LatencyP99].Value}
		p.Values = s.pushed(ctx, v, now)
		pts = append(pts, p)
	}
	if err := s.deps.Store.RecordMetrics(ctx, pts); err != nil {
		s.log.Warn("recording metrics failed", "err", err)
	}
}

// pushed reads the optional metrics a version reported over the window.
func (s *Service) pushed(ctx context.Context, version string, now time.Time) map[string]float64 {
	opt := s.deps.Signals.Optional
	if opt == nil {
		return nil
	}
	var out map[string]float64
	for _, r := range s.pol.Rules {
		if !opt.Expected(s.cfg.Name, r.Metric) {
			continue
		}
		smp, err := opt.Read(ctx, signal.Query{Service: s.cfg.Name, Version: version, Metric: r.Metric,
			Since: now.Add(-s.cfg.Policy.Window), At: now})
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]float64{}
		}
		out[r.Metric] = smp.Value
	}
	return out
}

// optionalBatch reads several metrics one by one from an OptionalSource;
// metrics it does not provide, or has no data for, are left out.
type optionalBatch struct {
	src     OptionalSource
	service string
}

func (b optionalBatch) ReadAll(ctx context.Context, q signal.Query, metrics map[string][]float64) (map[string]signal.Sample, error) {
	out := map[string]signal.Sample{}
	if b.src == nil {
		return out, nil
	}
	for m, bounds := range metrics {
		if !b.src.Expected(b.service, m) {
			continue
		}
		q.Metric, q.Bounds = m, bounds
		if smp, err := b.src.Read(ctx, q); err == nil {
			out[m] = smp
		}
	}
	return out, nil
}
