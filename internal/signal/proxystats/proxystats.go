// Package proxystats reads live per-version statistics from ripcord's own
// traffic switch: the signal no peer tool has, because it needs no scrape and
// no query — every request is counted as it completes.
//
// Zero requests in the window is a fact (low traffic), not missing data: the
// source answers with Samples 0, which the detector treats as Inconclusive.
package proxystats

import (
	"context"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/signal"
)

// Stats is the part of proxy.Switch this source reads.
type Stats interface {
	Stats(version string, since, now time.Time) proxy.Snapshot
}

// Source serves the request metrics of one service's switch.
type Source struct{ sw Stats }

var _ signal.Source = (*Source)(nil)

// New reads from sw.
func New(sw Stats) *Source { return &Source{sw: sw} }

// Metrics lists what this source can answer.
var Metrics = []string{signal.ErrorRate, signal.HTTP5xxRate, signal.LatencyP50, signal.LatencyP99,
	signal.TTFBP50, signal.TTFBP99, signal.Throughput, signal.ShadowMismatchRate}

// Read answers one metric. Callers judging several metrics at once should
// use ReadAll, which aggregates the window once.
func (s *Source) Read(_ context.Context, q signal.Query) (signal.Sample, error) {
	return value(s.sw.Stats(q.Version, q.Since, q.At), q)
}

// ReadAll answers several metrics from one aggregation of the window.
func (s *Source) ReadAll(_ context.Context, q signal.Query, metrics map[string][]float64) (map[string]signal.Sample, error) {
	snap := s.sw.Stats(q.Version, q.Since, q.At)
	out := make(map[string]signal.Sample, len(metrics))
	for m, bounds := range metrics {
		v, err := value(snap, signal.Query{Metric: m, At: q.At, Bounds: bounds})
		if err != nil {
			return nil, err
		}
		out[m] = v
	}
	return out, nil
}

// value answers one metric: the window's value, and the cumulative counts
// of the switch's current counter generation (since the version was last
// activated) for the sequential tests — requests and the failed ones for
// rates (key 0), and for latency and ttfb quantiles the observations and
// those above each of q.Bounds, a request still waiting counted as slow
// from the moment it passed a bound. A quantile with a bound the switch
// does not count (not tracked) gets no Counts and is judged by the
// fixed-window rule.
func value(snap proxy.Snapshot, q signal.Query) (signal.Sample, error) {
	c := snap.Cumulative
	out := signal.Sample{Samples: snap.Requests, Window: snap.To.Sub(snap.From), At: q.At}
	rate := func(bad int64) {
		out.Counts, out.CountsSince = map[float64]signal.Count{0: {N: c.Requests, Bad: float64(bad)}}, c.Since
	}
	switch q.Metric {
	case signal.ErrorRate:
		out.Value = snap.ErrorRate()
		rate(c.Errors)
	case signal.HTTP5xxRate:
		out.Value = snap.Rate5xx()
		rate(c.Status5xx)
	case signal.LatencyP50:
		out.Value = ms(snap.Quantile(0.50))
		out.Counts, out.CountsSince = bounds(c, false, q.Bounds)
	case signal.LatencyP99:
		out.Value = ms(snap.Quantile(0.99))
		out.Counts, out.CountsSince = bounds(c, false, q.Bounds)
	case signal.TTFBP50:
		out.Value, out.Samples = ms(snap.TTFBQuantile(0.50)), snap.TTFBSamples()
		out.Counts, out.CountsSince = bounds(c, true, q.Bounds)
	case signal.TTFBP99:
		out.Value, out.Samples = ms(snap.TTFBQuantile(0.99)), snap.TTFBSamples()
		out.Counts, out.CountsSince = bounds(c, true, q.Bounds)
	case signal.Throughput:
		out.Value = snap.Throughput()
	case signal.ShadowMismatchRate:
		// Copies compared since the shadow began: cumulative, the only
		// count the switch keeps of them.
		out.Value, out.Samples = ratio(c.Mismatched, c.Compared), c.Compared
		out.Counts, out.CountsSince = map[float64]signal.Count{0: {N: c.Compared, Bad: float64(c.Mismatched)}}, c.Since
	default:
		return signal.Sample{}, fmt.Errorf("proxystats: metric %q is not measured by the proxy: %w", q.Metric, signal.ErrNoData)
	}
	return out, nil
}

// bounds are the counts above every bound asked for, nil unless the switch
// counts them all.
func bounds(c proxy.Cumulative, ttfb bool, want []float64) (map[float64]signal.Count, time.Time) {
	if len(want) == 0 {
		return nil, time.Time{}
	}
	out := make(map[float64]signal.Count, len(want))
	for _, b := range want {
		bc, ok := c.Bound(ttfb, b)
		if !ok {
			return nil, time.Time{}
		}
		out[b] = signal.Count{N: bc.N, Bad: float64(bc.Above)}
	}
	return out, c.Since
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
