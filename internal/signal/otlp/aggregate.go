package otlp

import (
	"fmt"
	"math"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// How windowed values are kept: a snapshot of the cumulative counts at most
// every snapEvery, ringSize of them, so a window reaches back at least
// ringSize×snapEvery (64s) and memory per metric stays fixed.
const (
	ringSize  = 32
	snapEvery = 2 * time.Second
	// Automatic staleness: three times the longest of the last few gaps
	// between exports, at least minStale; firstStale before the second.
	minStale   = 5 * time.Second
	firstStale = 2 * time.Minute
)

type aggKind int

const (
	kindCount    aggKind = iota // throughput: observations per second
	kindRate                    // bad / all observations
	kindQuantile                // a quantile of a histogram
	kindGauge                   // a level: the latest value of each series, combined
)

func kindFor(metric string) aggKind {
	switch {
	case metric == signal.Throughput:
		return kindCount
	case signal.KindOf(metric) == signal.KindRate:
		return kindRate
	case signal.KindOf(metric) == signal.KindQuantile:
		return kindQuantile
	}
	return kindGauge
}

// agg is one metric of one version: cumulative counts since ripcord first
// saw it (they only grow), a ring of snapshots for windowed values, and for
// gauges the latest reading of each series.
type agg struct {
	kind   aggKind
	n, bad float64
	// layout is a quantile's bucket upper bounds in the metric's unit (from
	// the first histogram); above[j] counts observations above layout[j].
	layout, above []float64
	srcBounds     []float64 // the interned bounds layout was made from
	srcScale      float64
	ring          []snap
	gauges        map[uint64]reading
	last          time.Time
	gaps          [4]time.Duration
	ngaps         int
	gen           uint64 // the Consume call that last touched it
	combine       string // gauges: mean, max or sum
	// since is when the counts began: the arrival of the first export
	// mapped to this metric of this version. It is the samples'
	// CountsSince, so a guard whose watch began before it takes the first
	// reading as evidence (every count in it arrived during the watch)
	// rather than as a base, which would cost a whole export interval.
	since time.Time
}

type snap struct {
	t      time.Time
	n, bad float64
	above  []float64
}

type reading struct {
	v  float64
	at time.Time
}

// agg returns the aggregate of mp's metric, creating it, and marks it
// touched by this call.
func (v *version) agg(in *ingest, mp *mapping) *agg {
	a := v.aggs[mp.metric]
	if a == nil {
		a = &agg{kind: kindFor(mp.metric), combine: mp.aggregate, since: in.now}
		if a.kind == kindGauge {
			a.gauges = map[uint64]reading{}
		} else {
			a.ring = append(make([]snap, 0, 4), snap{t: in.now})
		}
		v.aggs[mp.metric] = a
	}
	if a.gen != in.seq {
		a.gen = in.seq
		in.touched = append(in.touched, a)
	}
	return a
}

// add folds one point's increment in; it returns a drop reason, or "".
func (a *agg) add(mp *mapping, unit string, key uint64, d increment, bad bool, now time.Time) string {
	switch a.kind {
	case kindGauge:
		if !d.gauge {
			return DropType
		}
		sc := mp.scale
		if sc == 0 {
			sc = 1
		}
		a.gauges[key] = reading{v: d.value * sc, at: now}
		return ""
	case kindCount, kindRate:
		if d.gauge {
			return DropType
		}
		a.n += d.count
		if bad && a.kind == kindRate {
			a.bad += d.count
		}
		return ""
	}
	if d.gauge || d.bounds == nil && d.buckets == nil {
		return DropType
	}
	sc := mp.scale
	if sc == 0 {
		if sc = unitScale(unit); sc == 0 {
			return DropUnit
		}
	}
	if a.layout == nil {
		a.layout = make([]float64, len(d.bounds))
		for i, b := range d.bounds {
			a.layout[i] = b * sc
		}
		a.above, a.srcBounds, a.srcScale = make([]float64, len(d.bounds)), d.bounds, sc
	}
	a.n += d.count
	if len(d.buckets) == 0 {
		return ""
	}
	if sc == a.srcScale && len(d.bounds) == len(a.srcBounds) && len(d.bounds) > 0 && &d.bounds[0] == &a.srcBounds[0] {
		// the same layout (interned): suffix sums, one pass
		var run uint64
		for i := len(d.buckets) - 1; i >= 1; i-- {
			run += d.buckets[i]
			a.above[i-1] += float64(run)
		}
		return ""
	}
	for j, limit := range a.layout {
		a.above[j] += d.countAbove(limit / sc)
	}
	return ""
}

// unitScale converts a duration unit to milliseconds; 0 when unknown.
func unitScale(unit string) float64 {
	switch unit {
	case "s":
		return 1000
	case "ms":
		return 1
	case "us", "µs":
		return 1e-3
	case "ns":
		return 1e-6
	}
	return 0
}

// touch records an export at now: the gap since the last one and, every
// snapEvery, a snapshot for windowed values.
func (a *agg) touch(now time.Time) {
	if !a.last.IsZero() {
		a.gaps[a.ngaps%len(a.gaps)] = now.Sub(a.last)
		a.ngaps++
	}
	a.last = now
	if a.kind == kindGauge || now.Sub(a.ring[len(a.ring)-1].t) < snapEvery {
		return
	}
	var reuse []float64
	if len(a.ring) == ringSize {
		reuse = a.ring[0].above[:0]
		a.ring = append(a.ring[:0], a.ring[1:]...)
	}
	a.ring = append(a.ring, snap{t: now, n: a.n, bad: a.bad, above: append(reuse, a.above...)})
}

// staleAfter is how long the metric may go without an export.
func (a *agg) staleAfter(configured time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	if a.ngaps == 0 {
		return firstStale
	}
	longest := time.Duration(0)
	for i := 0; i < min(a.ngaps, len(a.gaps)); i++ {
		longest = max(longest, a.gaps[i])
	}
	return max(minStale, 3*longest)
}

// at is the newest snapshot taken no later than since, or the oldest kept.
func (a *agg) at(since time.Time) snap {
	for i := len(a.ring) - 1; i >= 0; i-- {
		if !a.ring[i].t.After(since) {
			return a.ring[i]
		}
	}
	return a.ring[0]
}

// read answers q from the aggregate; every non-answer wraps ErrNoData.
func (a *agg) read(q signal.Query, stale time.Duration) (signal.Sample, error) {
	if age := q.At.Sub(a.last); age > stale {
		return signal.Sample{}, fmt.Errorf("no export for %s (stale after %s): %w", age.Round(time.Millisecond), stale, signal.ErrNoData)
	}
	if a.kind == kindGauge {
		return a.readGauge(q, stale)
	}
	base := a.at(q.Since)
	n := a.n - base.n
	window := a.last.Sub(base.t)
	if n <= 0 {
		return signal.Sample{}, fmt.Errorf("no observations in the window: %w", signal.ErrNoData)
	}
	smp := signal.Sample{Samples: int64(math.Round(n)), Window: window, At: q.At, CountsSince: a.since}
	switch a.kind {
	case kindCount:
		if window <= 0 {
			return signal.Sample{}, fmt.Errorf("one export so far, no rate yet: %w", signal.ErrNoData)
		}
		smp.Value = n / window.Seconds()
	case kindRate:
		smp.Value = (a.bad - base.bad) / n
		smp.Counts = map[float64]signal.Count{0: {N: int64(math.Round(a.n)), Bad: a.bad}}
	case kindQuantile:
		if len(a.layout) == 0 {
			return signal.Sample{}, fmt.Errorf("a histogram without buckets: %w", signal.ErrNoData)
		}
		smp.Value = a.quantile(quantileOf(q.Metric), n, base)
		smp.Counts = a.countsAbove(q.Bounds)
	}
	return smp, nil
}

// quantile estimates quantile q of the window's observations the way
// Prometheus' histogram_quantile does: linear within the bucket holding
// the rank, the lowest bucket starting at 0, the highest bound when the
// rank falls in the overflow bucket.
func (a *agg) quantile(q, n float64, base snap) float64 {
	rank := q * n
	prevLE, lower := 0.0, 0.0
	for j, upper := range a.layout {
		above := a.above[j]
		if base.above != nil {
			above -= base.above[j]
		}
		le := n - above
		if le >= rank {
			if le == prevLE {
				return upper
			}
			return lower + (upper-lower)*(rank-prevLE)/(le-prevLE)
		}
		prevLE, lower = le, upper
	}
	return a.layout[len(a.layout)-1]
}

// countsAbove gives the cumulative evidence for each bound: all
// observations, and those in buckets entirely above the bound. A bound
// above the largest bucket boundary cannot be counted; then no counts are
// given at all and the window rule judges the metric.
func (a *agg) countsAbove(bounds []float64) map[float64]signal.Count {
	if len(bounds) == 0 {
		return nil
	}
	out := make(map[float64]signal.Count, len(bounds))
	for _, b := range bounds {
		j := -1
		for i, l := range a.layout {
			if l >= b*(1-1e-12) {
				j = i
				break
			}
		}
		if j < 0 {
			return nil
		}
		out[b] = signal.Count{N: int64(math.Round(a.n)), Bad: a.above[j]}
	}
	return out
}

func (a *agg) readGauge(q signal.Query, stale time.Duration) (signal.Sample, error) {
	var sum, top float64
	n := 0
	for _, r := range a.gauges {
		if q.At.Sub(r.at) > stale {
			continue
		}
		if n == 0 || r.v > top {
			top = r.v
		}
		sum += r.v
		n++
	}
	if n == 0 {
		return signal.Sample{}, fmt.Errorf("no fresh series: %w", signal.ErrNoData)
	}
	smp := signal.Sample{Value: sum / float64(n), Samples: int64(n), At: q.At}
	switch a.combine {
	case AggregateMax:
		smp.Value = top
	case AggregateSum:
		smp.Value = sum
	}
	return smp, nil
}

func quantileOf(metric string) float64 {
	switch metric {
	case signal.LatencyP50, signal.TTFBP50:
		return 0.5
	}
	return 0.99
}
