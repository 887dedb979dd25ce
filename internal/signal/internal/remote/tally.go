package remote

import "time"

// Point is one rollup bucket of a counter: the count of the period that
// starts at T.
type Point struct {
	T time.Time
	V float64
}

// Tally turns a backend's per-period counts into a cumulative count that
// only grows. Each bucket contributes the largest value seen for it, so a
// bucket that grows as late data arrives adds only its growth, and one
// read twice adds nothing. Buckets before the floor (the start of the
// first read's window: the watch) never count. Not safe for concurrent
// use.
type Tally struct {
	floor   time.Time
	settled time.Time // buckets before it left every window: forgotten, kept in total
	seen    map[int64]float64
	total   float64
}

// Observe folds the buckets of a query over [from, …] in and returns the
// cumulative count. The first call sets the floor to since.
func (t *Tally) Observe(since, from time.Time, pts []Point) float64 {
	if t.seen == nil {
		t.seen, t.floor = map[int64]float64{}, since
	}
	for _, p := range pts {
		if p.T.Before(t.floor) || p.T.Before(t.settled) || p.T.Before(from) || p.V <= 0 {
			continue
		}
		k := p.T.UnixNano()
		if old := t.seen[k]; p.V > old {
			t.total += p.V - old
			t.seen[k] = p.V
		}
	}
	// buckets before this query's start will not be reported again
	if from.After(t.settled) {
		t.settled = from
		for k := range t.seen {
			if time.Unix(0, k).Before(from) {
				delete(t.seen, k)
			}
		}
	}
	return t.total
}

// Total is the cumulative count so far.
func (t *Tally) Total() float64 { return t.total }
