package prometheus

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/ripcord/ripcord/internal/signal"
)

// Counts mode: a metric's raw cumulative counters, read with one instant
// query per Read, turned into the cumulative evidence the sequential tests
// take (signal.Sample.Counts) and into the window value people read.
//
// Why the source keeps a tally of its own instead of passing the counters
// through: the counters Prometheus holds are per series (per pod, per
// status code), they restart with their process, series come and go, and
// a template may sum them. The tally adds up, series by series, what each
// read adds to the one before; it only ever grows, so the guard can take
// differences of it without seeing the same request twice:
//
//   - a series seen before adds its increase;
//   - a series never seen before (a new pod, the first 5xx of a version)
//     adds its whole value: those requests came after the previous read;
//   - a series that went down (its process restarted, or a sum lost a
//     pod) makes the whole read a new base: nothing is added, every series
//     is remembered at its new value. The requests of that one scrape are
//     not counted; none is ever counted twice, and no increment is
//     negative;
//   - the first read of a version is the base: its counters hold requests
//     from before ripcord looked.
//
// Series that vanish are remembered for seriesMemory, so one that comes
// back (a target that was down, a Prometheus restart) adds only what it
// gained meanwhile.

// partLabel tells the total and bad series of a rate apart in the one
// query that reads both: one query sees one state of the database, where
// two could straddle a scrape and pair a new bad count with an old total.
const partLabel = "ripcord_part"

const (
	// seriesMemory is how long a vanished series' last value is kept.
	seriesMemory = time.Hour
	// stateIdle is how long a version's tally lives unread.
	stateIdle = time.Hour
	// maxSpan bounds the history kept for window values.
	maxSpan = 10 * time.Minute
)

// render is the query a Read runs: for a rate, both counters tagged by
// partLabel; for a latency metric, the bucket series as they are (ripcord
// groups them by le). The user's text sits on lines of its own so a PromQL
// comment in it cannot swallow what follows.
func (cq *countQueries) render(vars map[string]string, window time.Duration) (string, error) {
	if cq.hist != nil {
		return cq.hist.render(vars, window)
	}
	total, err := cq.total.render(vars, window)
	if err != nil {
		return "", err
	}
	bad, err := cq.bad.render(vars, window)
	if err != nil {
		return "", err
	}
	tag := func(expr, part string) string {
		return fmt.Sprintf("label_replace(\n%s\n, %q, %q, \"__name__\", \".*\")", expr, partLabel, part)
	}
	return tag(total, "total") + " or " + tag(bad, "bad"), nil
}

// tally is cumulative counts since a version's base: total and bad for a
// rate, and per bucket upper bound for a histogram (le +Inf is the total).
type tally struct {
	total, bad float64
	le         map[float64]float64
}

func (t tally) clone() tally {
	t.le = cloneMap(t.le)
	return t
}

func (t tally) equal(o tally) bool {
	if t.total != o.total || t.bad != o.bad || len(t.le) != len(o.le) {
		return false
	}
	for k, v := range t.le {
		if w, ok := o.le[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func cloneMap(m map[float64]float64) map[float64]float64 {
	if m == nil {
		return nil
	}
	out := make(map[float64]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// snapshot is the tally at a moment, unix nanoseconds (32 bytes, not 48:
// a version keeps a window's worth of them).
type snapshot struct {
	at int64
	t  tally
}

// nanos is t in unix nanoseconds, the zero time before every moment.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// seriesMemo is one series' last value, in a slice sorted by fingerprint:
// a tally has two series (a rate's total and bad) or a histogram's
// buckets, and a map of them held a few hundred bytes per version.
type seriesMemo struct {
	fp   model.Fingerprint
	v    float64
	seen int64 // unix nanoseconds
}

// memo returns the series fp, or nil.
func (st *countState) memo(fp model.Fingerprint) *seriesMemo {
	i, ok := slices.BinarySearchFunc(st.series, fp, func(m seriesMemo, fp model.Fingerprint) int { return cmp.Compare(m.fp, fp) })
	if !ok {
		return nil
	}
	return &st.series[i]
}

// remember sets series fp to v, seen at.
func (st *countState) remember(fp model.Fingerprint, v float64, at int64) {
	i, ok := slices.BinarySearchFunc(st.series, fp, func(m seriesMemo, fp model.Fingerprint) int { return cmp.Compare(m.fp, fp) })
	if ok {
		st.series[i].v, st.series[i].seen = v, at
		return
	}
	st.series = slices.Insert(st.series, i, seriesMemo{fp: fp, v: v, seen: at})
}

// countState is one version's tally of one metric. Reads of it are
// serialized (mu is held across the query), so they apply in order.
//
// It is kept within 256 bytes (two per service, a daemon of 10,000): the
// moments only compared are unix nanoseconds, and what only latency
// metrics need is made for them.
type countState struct {
	mu     sync.Mutex
	since  time.Time    // the base read; zero before it
	lastAt time.Time    // the newest read applied
	used   int64        // the newest Read's At, unix nanoseconds, for eviction
	series []seriesMemo // sorted by fingerprint
	acc    tally
	hist   []snapshot    // on change only, oldest first
	span   time.Duration // the longest window asked for
	lat    *latencyState // nil until a latency bound is asked for
	// batched is the scrape a Hub's batched read last answered for (unix
	// nanoseconds, 0: none), and batchErr its failure (nil: applied).
	batched  int64
	batchErr error
	// shapes are the parse of the last rendered templates (nil: not
	// batchable), whose textSum is shapeSum (once shaped), so a batch
	// parses each rendering once.
	shaped   bool
	shapeSum [2]uint64
	shapes   []*shape
}

// latencyState is what a latency metric's tally keeps besides the tally.
type latencyState struct {
	bounds map[float64]bool
	warned map[float64]bool // nil until a bound is warned about
	// unmatched are the bounds the last sample found no finite bucket for.
	unmatched []float64
}

type stateKey struct{ service, version, metric string }

func newCountState() *countState { return &countState{} }

func (st *countState) bounds() map[float64]bool {
	if st.lat == nil {
		return nil
	}
	return st.lat.bounds
}

func (st *countState) unmatched() []float64 {
	if st.lat == nil {
		return nil
	}
	return st.lat.unmatched
}

// tallyOf is one of a service's tallies, by version and metric: a
// service has a few, kept in a slice on it (a map per service held ~450
// bytes for two).
type tallyOf struct {
	key stateKey
	st  *countState
}

// countState returns svc's tally for k, dropping tallies unread for
// stateIdle (at most once a minute).
func (s *Source) countState(svc *service, k stateKey, now time.Time) *countState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.swept) > time.Minute {
		s.swept = now
		for _, other := range s.services {
			other := other.svc
			other.states = slices.DeleteFunc(other.states, func(t tallyOf) bool {
				if !t.st.mu.TryLock() {
					return false
				}
				defer t.st.mu.Unlock()
				return nanos(now)-t.st.used > int64(stateIdle)
			})
		}
	}
	for _, t := range svc.states {
		if t.key == k {
			return t.st
		}
	}
	st := newCountState()
	svc.states = append(svc.states, tallyOf{key: k, st: st})
	return st
}

// tallies returns service's tallies (a copy of the list).
func (s *Source) tallies(service string) []tallyOf {
	svc := s.service(service)
	if svc == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(svc.states)
}

// readCounts answers q from the metric's counters: one query when q.At is
// newer than the last read, none otherwise (a read at an earlier moment, the
// previous version's baseline, is answered from the history), nor when a
// Hub's batch already read the counters for scrape (zero: no scrape known).
// With hub (nil: none) a base may be left to the hub's next batch.
func (s *Source) readCounts(ctx context.Context, svc *service, cq *countQueries, q signal.Query, scrape time.Time, hub *Hub) (signal.Sample, error) {
	st := s.countState(svc, stateKey{q.Service, q.Version, q.Metric}, q.At)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.used = nanos(q.At)
	for _, b := range q.Bounds {
		if st.lat == nil {
			st.lat = &latencyState{bounds: map[float64]bool{}}
		}
		st.lat.bounds[b] = true
	}
	if !q.Since.IsZero() {
		st.span = max(st.span, min(q.At.Sub(q.Since), maxSpan))
	}
	batched := !scrape.IsZero() && st.batched >= scrape.UnixNano()
	if st.since.IsZero() && hub != nil {
		select {
		case hub.lone <- struct{}{}:
			defer func() { <-hub.lone }()
		default:
			return signal.Sample{}, fmt.Errorf("prometheus: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, errBaseDeferred)
		}
	}
	if batched && st.batchErr != nil {
		return signal.Sample{}, fmt.Errorf("%s of %s/%s (batched): %w", q.Metric, q.Service, q.Version, st.batchErr)
	}
	if st.since.IsZero() || (q.At.After(st.lastAt) && !batched) {
		query, err := cq.render(s.varsFor(svc, q), svc.cfg.Window)
		if err != nil {
			return signal.Sample{}, fmt.Errorf("prometheus: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
		}
		ctx, cancel := context.WithTimeout(ctx, svc.cfg.Timeout)
		defer cancel()
		vec, err := svc.client.Vector(ctx, query, q.At)
		if err != nil {
			return signal.Sample{}, fmt.Errorf("%s of %s/%s: %w", q.Metric, q.Service, q.Version, err)
		}
		if err := st.apply(q.At, vec, cq.hist != nil); err != nil {
			return signal.Sample{}, fmt.Errorf("prometheus: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
		}
	}
	smp, err := st.sample(q, cq)
	if err != nil {
		return signal.Sample{}, fmt.Errorf("prometheus: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
	}
	for _, b := range st.unmatched() {
		if !st.lat.warned[b] {
			if st.lat.warned == nil {
				st.lat.warned = map[float64]bool{}
			}
			st.lat.warned[b] = true
			s.log.Warn("prometheus histogram has no bucket at or above a tested bound: requests slower than it cannot be counted",
				"service", q.Service, "version", q.Version, "metric", q.Metric, "bound", b)
		}
	}
	return smp, nil
}

// point is one series of a read.
type point struct {
	fp   model.Fingerprint
	part string  // rates: total or bad
	le   float64 // histograms: the bucket's upper bound
	v    float64
}

// apply folds one read at at into the tally (see the rules at the top).
func (st *countState) apply(at time.Time, vec model.Vector, hist bool) error {
	var pts []point
	noLE := 0
	for _, smp := range vec {
		v := float64(smp.Value)
		if smp.Histogram != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			continue
		}
		p := point{fp: smp.Metric.Fingerprint(), v: v}
		if hist {
			le, err := strconv.ParseFloat(string(smp.Metric[model.BucketLabel]), 64)
			if _, ok := smp.Metric[model.BucketLabel]; !ok || err != nil {
				noLE++
				continue
			}
			p.le = le
		} else {
			p.part = string(smp.Metric[partLabel])
			if p.part != "total" && p.part != "bad" {
				continue
			}
		}
		pts = append(pts, p)
	}
	if hist && len(pts) == 0 && noLE > 0 {
		return fmt.Errorf("%d series without an le label: the histogram template must select the _bucket series", noLE)
	}
	reset := false
	for _, p := range pts {
		if m := st.memo(p.fp); m != nil && p.v < m.v {
			reset = true
		}
	}
	first := st.since.IsZero()
	if hist {
		if st.acc.le == nil {
			st.acc.le = map[float64]float64{}
		}
		// A bucket bound new to the tally starts level with the total:
		// the requests counted before it are taken as fast, never slow.
		inf := st.acc.le[math.Inf(1)]
		for _, p := range pts {
			if _, ok := st.acc.le[p.le]; !ok {
				st.acc.le[p.le] = inf
			}
		}
	}
	seen := at.UnixNano()
	for _, p := range pts {
		if !first && !reset {
			inc := p.v // a new series starts from 0
			if m := st.memo(p.fp); m != nil {
				inc -= m.v
			}
			switch {
			case hist:
				st.acc.le[p.le] += inc
			case p.part == "total":
				st.acc.total += inc
			default:
				st.acc.bad += inc
			}
		}
		st.remember(p.fp, p.v, seen)
	}
	st.series = slices.DeleteFunc(st.series, func(m seriesMemo) bool { return seen-m.seen > int64(seriesMemory) })
	if first {
		st.since = at
	}
	st.lastAt = at
	if n := len(st.hist); first || n == 0 || !st.hist[n-1].t.equal(st.acc) {
		if len(st.hist) == cap(st.hist) {
			// Grow by a quarter, not double: prune bounds the history to
			// a window's scrapes, which the array then holds with little
			// to spare (12 for a 10 s window and 1 s scrapes: room for
			// 14, not 16).
			grown := make([]snapshot, len(st.hist), len(st.hist)+len(st.hist)/4+1) // append would double
			copy(grown, st.hist)
			st.hist = grown
		}
		st.hist = append(st.hist, snapshot{at: nanos(at), t: st.acc.clone()})
	}
	st.prune()
	return nil
}

// prune drops the history older than the longest window asked for,
// keeping the last snapshot before it as that window's base: with the
// default 10s window and a 1s scrape, about a dozen snapshots.
func (st *countState) prune() {
	cut := nanos(st.lastAt.Add(-st.span))
	i := 0
	for i+1 < len(st.hist) && st.hist[i+1].at <= cut {
		i++
	}
	if i > 0 { // shift down: the array is reused, not regrown a scrape later
		st.hist = append(st.hist[:0], st.hist[i:]...)
	}
}

// sample is the answer at q.At: cumulative counts, and the value over
// [q.Since, q.At] from the history.
func (st *countState) sample(q signal.Query, cq *countQueries) (signal.Sample, error) {
	end, at, since := -1, nanos(q.At), nanos(q.Since)
	for i, s := range st.hist {
		if s.at <= at {
			end = i
		}
	}
	if end < 0 {
		return signal.Sample{}, fmt.Errorf("no reading of the counters at or before %s", q.At.Format(time.RFC3339Nano))
	}
	start := 0
	for i := 0; i <= end; i++ {
		if st.hist[i].at <= since {
			start = i
		}
	}
	from, to := st.hist[start].t, st.hist[end].t
	win := q.At.Sub(st.since)
	if !q.Since.IsZero() {
		win = min(win, q.At.Sub(q.Since))
	}
	smp := signal.Sample{Window: win, At: q.At, CountsSince: st.since}
	if cq.hist == nil {
		n := to.total - from.total
		if n < 0.5 {
			return signal.Sample{}, fmt.Errorf("no requests counted in the window (first read %s)", st.since.Format(time.RFC3339Nano))
		}
		smp.Value = min(max((to.bad-from.bad)/n, 0), 1)
		smp.Samples = int64(math.Round(n))
		smp.Counts = map[float64]signal.Count{0: {N: int64(math.Round(to.total)), Bad: max(to.bad, 0)}}
		return smp, nil
	}
	inf := math.Inf(1)
	if _, ok := to.le[inf]; !ok {
		return signal.Sample{}, fmt.Errorf("no le=\"+Inf\" bucket among the histogram's series")
	}
	n := to.le[inf] - from.le[inf]
	if n < 0.5 {
		return signal.Sample{}, fmt.Errorf("no requests counted in the window (first read %s)", st.since.Format(time.RFC3339Nano))
	}
	les := slices.Sorted(func(yield func(float64) bool) {
		for le := range to.le {
			if !yield(le) {
				return
			}
		}
	})
	delta := make([]float64, len(les))
	for i, le := range les {
		base, ok := from.le[le]
		if !ok {
			base = from.le[inf] // a bound new since: level with the total then
		}
		delta[i] = to.le[le] - base
	}
	smp.Value = bucketQuantile(quantileOf(cq.metric), les, delta) * cq.scale
	smp.Samples = int64(math.Round(n))
	smp.Counts = map[float64]signal.Count{}
	if st.lat != nil {
		st.lat.unmatched = st.lat.unmatched[:0]
	}
	for b := range st.bounds() {
		c := signal.Count{N: int64(math.Round(to.le[inf]))}
		i, _ := slices.BinarySearchFunc(les, b, func(le, b float64) int {
			if le*cq.scale >= b*(1-1e-9) {
				return 1
			}
			return -1
		})
		if i < len(les) && !math.IsInf(les[i], 1) {
			c.Bad = max(to.le[inf]-to.le[les[i]], 0)
		} else {
			st.lat.unmatched = append(st.lat.unmatched, b) // st.lat: b is one of its bounds
		}
		smp.Counts[b] = c
	}
	return smp, nil
}

// quantileOf is the quantile a latency metric names.
func quantileOf(metric string) float64 {
	switch metric {
	case signal.LatencyP50, signal.TTFBP50:
		return 0.5
	}
	return 0.99
}

// bucketQuantile is histogram_quantile over cumulative bucket counts
// (les sorted, the last +Inf): linear within the bucket the rank falls in,
// the largest finite bound when it falls in the +Inf bucket.
func bucketQuantile(q float64, les, cum []float64) float64 {
	for i := 1; i < len(cum); i++ {
		cum[i] = max(cum[i], cum[i-1]) // scrapes of buckets may disagree a little
	}
	total := cum[len(cum)-1]
	rank := q * total
	for i, c := range cum {
		if c < rank {
			continue
		}
		if math.IsInf(les[i], 1) {
			if i == 0 {
				return 0
			}
			return les[i-1]
		}
		lower, below := 0.0, 0.0
		if i > 0 {
			lower, below = les[i-1], cum[i-1]
		} else if les[0] < 0 {
			return les[0]
		}
		if c == below {
			return les[i]
		}
		return lower + (les[i]-lower)*(rank-below)/(c-below)
	}
	return les[len(les)-1]
}
