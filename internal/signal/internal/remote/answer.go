package remote

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Reserved keys of the polling sources' queries that are not metrics:
// counts per period, error_rate's sequential evidence.
const (
	KeyRequests = "requests"
	KeyErrors   = "errors"
)

// Gives reports whether a source whose queries (or paths) are keyed as in
// queries answers metric: a query of its own, or error_rate from the
// requests and errors counts. The reserved keys are not metrics.
func Gives[V any](queries map[string]V, metric string) bool {
	if metric == KeyRequests || metric == KeyErrors {
		return false
	}
	_, ok := queries[metric]
	_, counts := queries[KeyRequests]
	return ok || metric == signal.ErrorRate && counts
}

// Result is one answer of a backend for one version: the points of each
// query, or why a query has none.
type Result struct {
	At      time.Time
	Points  map[string][]Point
	Missing map[string]error
}

// Evidence keeps each version's requests and errors tallies.
type Evidence struct {
	mu      sync.Mutex
	tallies map[[2]string]*[2]Tally
}

// Observe folds a new answer's request and error buckets in. Buckets that
// began less than period before since overlap the watch and count, so a
// watch's first bucket is not lost.
func (e *Evidence) Observe(service, version string, since, from time.Time, period time.Duration, r Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tallies == nil {
		e.tallies = map[[2]string]*[2]Tally{}
	}
	k := [2]string{service, version}
	t := e.tallies[k]
	if t == nil {
		if len(e.tallies) >= 1024 {
			clear(e.tallies) // versions come and go; restarting a base is safe
		}
		t = &[2]Tally{}
		e.tallies[k] = t
	}
	floor := since.Add(-period + time.Nanosecond)
	t[0].Observe(floor, from, r.Points[KeyRequests])
	t[1].Observe(floor, from, r.Points[KeyErrors])
}

func (e *Evidence) counts(service, version string) (signal.Count, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tallies[[2]string{service, version}]
	if t == nil {
		return signal.Count{}, false
	}
	return signal.Count{N: int64(math.Round(t[0].Total())), Bad: t[1].Total()}, true
}

// Shape says what a service's configuration gives.
type Shape struct {
	Interval time.Duration // the read interval and rollup period
	Stale    time.Duration // how old the newest point may be
	Query    bool          // the metric has a query of its own
	Counts   bool          // requests and errors are configured
}

// Answer computes q.Metric's sample from r. A metric query's value is its
// newest point (no data when it is older than Stale). With counts,
// Samples is the requests over the window (at least two periods: a 10s
// policy window holds no 60s bucket) and error_rate carries the
// cumulative Counts; without a query of its own, error_rate's value is
// errors / requests over the window.
func (e *Evidence) Answer(q signal.Query, r Result, sh Shape) (signal.Sample, error) {
	window := max(q.At.Sub(q.Since), 2*sh.Interval)
	smp := signal.Sample{At: q.At, Window: window}
	since := q.At.Add(-window)
	countsOK := sh.Counts && r.Missing[KeyRequests] == nil && r.Missing[KeyErrors] == nil
	if countsOK {
		smp.Samples = int64(math.Round(sumSince(r.Points[KeyRequests], since)))
	}
	if sh.Query {
		if err := r.Missing[q.Metric]; err != nil {
			return signal.Sample{}, fmt.Errorf("%w: %w", signal.ErrNoData, err)
		}
		pts := r.Points[q.Metric]
		if len(pts) == 0 {
			return signal.Sample{}, fmt.Errorf("no points: %w", signal.ErrNoData)
		}
		last := pts[len(pts)-1]
		if age := q.At.Sub(last.T); age > sh.Stale {
			return signal.Sample{}, fmt.Errorf("newest point is %s old: %w", age.Round(time.Second), signal.ErrNoData)
		}
		smp.Value = last.V
	}
	if q.Metric != signal.ErrorRate || !sh.Counts {
		return smp, nil
	}
	if !countsOK {
		if sh.Query {
			return smp, nil // the value stands; no new evidence this time
		}
		return signal.Sample{}, fmt.Errorf("the requests or errors query did not answer: %w", signal.ErrNoData)
	}
	if c, ok := e.counts(q.Service, q.Version); ok {
		smp.Counts = map[float64]signal.Count{0: c}
	}
	if !sh.Query {
		reqs := sumSince(r.Points[KeyRequests], since)
		if reqs <= 0 {
			return signal.Sample{}, fmt.Errorf("no requests in the last %s: %w", window, signal.ErrNoData)
		}
		smp.Value = sumSince(r.Points[KeyErrors], since) / reqs
	}
	return smp, nil
}

func sumSince(pts []Point, since time.Time) float64 {
	var n float64
	for _, p := range pts {
		if !p.T.Before(since) {
			n += p.V
		}
	}
	return n
}
