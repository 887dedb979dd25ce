// Package push keeps metrics that services and evaluation pipelines send to
// POST /api/v1/services/{name}/signals — the ones the proxy cannot see, such
// as an LLM's quality score or toxicity rate.
//
// Points live in memory only: they describe the last few minutes and are
// worthless after a restart, when the pipeline simply pushes again. A metric
// that was pushed once for a service is "expected" from then on, so its
// absence later makes the verdict Blind instead of silently Healthy.
//
// Pushed rates and quality scores also keep cumulative counts (value ×
// samples), so the sequential tests judge them like the switch's own
// counts; other metrics are judged over the window.
//
// Memory is bounded: only metrics the detector knows (signal.Known) are
// accepted, the API accepts only a service's own versions, and each series
// keeps at most MaxPoints points, so the store holds at most
// services × versions × len(signal.Known) × MaxPoints points however much
// is pushed.
package push

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Point is one pushed observation: a value resting on Samples observations.
type Point struct {
	Value   float64
	Samples int64
	At      time.Time
}

type key struct{ service, version, metric string }

// Store is a signal.Source over pushed points.
type Store struct {
	retention time.Duration
	mu        sync.Mutex
	points    map[key][]Point
	seen      map[[2]string]bool // service, metric
	totals    map[key]total
}

// total is the cumulative evidence of one series, for the sequential tests:
// every pushed value in [0, 1] of a rate (or 1 - value of a quality score)
// is Samples observations whose badness sums to value × Samples.
type total struct {
	count signal.Count
	since time.Time
}

// countable reports whether a pushed metric's values are shares in [0, 1]
// whose mean over Samples can stand for Samples observations.
func countable(metric string) bool {
	return signal.KindOf(metric) == signal.KindRate || metric == signal.QualityScore
}

var _ signal.Source = (*Store)(nil)

// New keeps points for retention (at least the longest policy window).
func New(retention time.Duration) *Store {
	return &Store{retention: retention, points: map[key][]Point{}, seen: map[[2]string]bool{}, totals: map[key]total{}}
}

// MaxPoints caps one series (service, version, metric). A pipeline pushing
// faster than MaxPoints per retention loses its oldest points first, which
// only narrows the window the mean is taken over.
const MaxPoints = 4096

// Push records values for one version. Metric names must be known
// (signal.IsKnown), values finite and samples positive (an average over
// zero observations is not an observation). Nothing is stored unless every
// value is acceptable.
func (s *Store) Push(service, version string, values map[string]float64, samples int64, at time.Time) error {
	if samples <= 0 {
		return fmt.Errorf("push: samples must be > 0 (how many requests the values rest on), got %d", samples)
	}
	for m, v := range values {
		if !signal.IsKnown(m) {
			return fmt.Errorf("push: values: %.64q is not a metric ripcord knows; push only %s", m, strings.Join(signal.Known, ", "))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("push: values.%s is not a finite number", m)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for m, v := range values {
		k := key{service, version, m}
		pts := append(s.points[k], Point{Value: v, Samples: samples, At: at})
		pts = trim(pts, at.Add(-s.retention))
		if len(pts) > MaxPoints {
			pts = pts[len(pts)-MaxPoints:] // append reallocates with only these
		}
		s.points[k] = pts
		s.seen[[2]string{service, m}] = true
		if countable(m) {
			bad := min(max(v, 0), 1)
			if m == signal.QualityScore {
				bad = 1 - bad
			}
			t := s.totals[k]
			if t.since.IsZero() {
				t.since = at
			}
			t.count.N += samples
			t.count.Bad += bad * float64(samples)
			s.totals[k] = t
		}
	}
	return nil
}

// Expected reports whether metric was ever pushed for service.
func (s *Store) Expected(service, metric string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[[2]string{service, metric}]
}

// Read returns the sample-weighted mean of the points in [Since, At].
func (s *Store) Read(_ context.Context, q signal.Query) (signal.Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum float64
	var n int64
	var first time.Time
	for _, p := range s.points[key{q.Service, q.Version, q.Metric}] {
		if p.At.Before(q.Since) || p.At.After(q.At) {
			continue
		}
		if first.IsZero() {
			first = p.At
		}
		sum += p.Value * float64(p.Samples)
		n += p.Samples
	}
	if n == 0 {
		return signal.Sample{}, fmt.Errorf("push: %s of %s/%s: %w", q.Metric, q.Service, q.Version, signal.ErrNoData)
	}
	out := signal.Sample{Value: sum / float64(n), Samples: n, Window: q.At.Sub(first), At: q.At}
	if t, ok := s.totals[key{q.Service, q.Version, q.Metric}]; ok {
		out.Counts, out.CountsSince = map[float64]signal.Count{0: t.count}, t.since
	}
	return out, nil
}

func trim(pts []Point, before time.Time) []Point {
	i := 0
	for i < len(pts) && pts[i].At.Before(before) {
		i++
	}
	return pts[i:]
}
