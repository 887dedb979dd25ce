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
var Metrics = []string{signal.ErrorRate, signal.HTTP5xxRate, signal.LatencyP50, signal.LatencyP99, signal.Throughput}

// Read answers one metric. Callers judging several metrics at once should
// use ReadAll, which aggregates the window once.
func (s *Source) Read(_ context.Context, q signal.Query) (signal.Sample, error) {
	return value(s.sw.Stats(q.Version, q.Since, q.At), q)
}

// ReadAll answers several metrics from one aggregation of the window.
func (s *Source) ReadAll(_ context.Context, q signal.Query, metrics map[string][]float64) (map[string]signal.Sample, error) {
	snap := s.sw.Stats(q.Version, q.Since, q.At)
	out := make(map[string]signal.Sample, len(metrics))
	for m := range metrics {
		v, err := value(snap, signal.Query{Metric: m, At: q.At})
		if err != nil {
			return nil, err
		}
		out[m] = v
	}
	return out, nil
}

func value(snap proxy.Snapshot, q signal.Query) (signal.Sample, error) {
	out := signal.Sample{Samples: snap.Requests, Window: snap.To.Sub(snap.From), At: q.At}
	switch q.Metric {
	case signal.ErrorRate:
		out.Value = snap.ErrorRate()
	case signal.HTTP5xxRate:
		out.Value = snap.Rate5xx()
	case signal.LatencyP50:
		out.Value = ms(snap.Quantile(0.50))
	case signal.LatencyP99:
		out.Value = ms(snap.Quantile(0.99))
	case signal.Throughput:
		out.Value = snap.Throughput()
	default:
		return signal.Sample{}, fmt.Errorf("proxystats: metric %q is not measured by the proxy: %w", q.Metric, signal.ErrNoData)
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
