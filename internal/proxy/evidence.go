package proxy

import (
	"strings"
	"sync/atomic"
	"time"
)

// Sequential evidence: cumulative per-version counters that a sequential
// test can be fed with (the windowed ring in stats.go re-reports the same
// requests on every read, which a sequential test must never see twice).
//
// A generation holds the counts of one stretch of a version's life: it
// starts when the version is activated, so a watch's counters hold only
// that watch's requests. A request belongs to the generation it started in
// (it is counted there when it completes, even if the version was
// activated again meanwhile).
//
// Besides requests, errors and 5xx, a generation counts, per tracked bound
// (Switch.Track), the requests whose latency or time to first byte was above
// it. A request still waiting for its response head is judged in flight:
// a scan, run whenever the counts are read, counts it as one observation
// above every bound it is already older than, from that moment; when it
// completes it is not counted again for those bounds.

// maxBounds is how many bounds a generation can count (bits of a flight
// word). A guard asks for at most three per latency metric.
const maxBounds = 16

type boundKind uint8

const (
	boundLatency boundKind = iota // latency_*: until the answer (its head, for a stream)
	boundTTFB                     // ttfb_*: until the answer's first body byte
)

// boundSpec is one bound Track was given, as given (key, in ms).
type boundSpec struct {
	kind boundKind
	key  float64
}

// boundCounter counts the observations of one bound and those above it.
type boundCounter struct {
	boundSpec
	limit time.Duration
	bit   uint64
	n     atomic.Int64
	above atomic.Int64
}

// gen is one counter generation of a version.
type gen struct {
	since   time.Time
	sinceNs int64
	req     atomic.Int64
	errs    atomic.Int64 // 5xx, connection and stream errors
	s5xx    atomic.Int64
	// bounds only grows within a generation (bits stay meaningful for the
	// requests in flight); writers hold Switch.mu.
	bounds atomic.Pointer[[]*boundCounter]
	flight flights
	// cmpN counts shadow copies compared with the live answer, cmpBad
	// those that disagreed (shadow.go).
	cmpN, cmpBad atomic.Int64
}

func newGen(now time.Time, spec []boundSpec) *gen {
	g := &gen{since: now, sinceNs: now.UnixNano()}
	g.addBounds(spec)
	return g
}

// addBounds appends the bounds of spec the generation does not count yet.
// Called with Switch.mu held (or before g is published).
func (g *gen) addBounds(spec []boundSpec) {
	var cur []*boundCounter
	if p := g.bounds.Load(); p != nil {
		cur = *p
	}
	next := cur
	for _, b := range spec {
		if findBound(next, b) != nil || len(next) == maxBounds {
			continue
		}
		if len(next) == len(cur) {
			next = append([]*boundCounter(nil), cur...) // copy on write: readers hold the old slice
		}
		bc := &boundCounter{boundSpec: b, limit: time.Duration(b.key * float64(time.Millisecond)), bit: 1 << len(next)}
		next = append(next, bc)
	}
	if len(next) != len(cur) || g.bounds.Load() == nil {
		g.bounds.Store(&next)
	}
}

func findBound(list []*boundCounter, b boundSpec) *boundCounter {
	for _, bc := range list {
		if bc.boundSpec == b {
			return bc
		}
	}
	return nil
}

func (g *gen) boundList() []*boundCounter {
	if p := g.bounds.Load(); p != nil {
		return *p
	}
	return nil
}

// boundSpecs turns Track's metric → bounds map into specs: latency_* and
// ttfb_* metrics; bounds of other metrics mean nothing to the switch.
func boundSpecs(bounds map[string][]float64) []boundSpec {
	var out []boundSpec
	for m, bs := range bounds {
		kind := boundLatency
		switch {
		case strings.HasPrefix(m, "latency_"):
		case strings.HasPrefix(m, "ttfb_"):
			kind = boundTTFB
		default:
			continue
		}
		for _, b := range bs {
			spec := boundSpec{kind: kind, key: b}
			if b > 0 && !containsSpec(out, spec) {
				out = append(out, spec)
			}
		}
	}
	return out
}

func containsSpec(list []boundSpec, b boundSpec) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

// flight is one request's place in its generation's evidence. It lives in
// the request's exchange (fast path) or on the handler's stack: no
// allocation.
type flight struct {
	g     *gen
	slot  int32 // 1 + its index in g.flight; 0 when not registered
	start time.Time
	// head is when the response head arrived, first when its first body
	// byte did (zero until then).
	head, first time.Time
	// counted are the bounds the request was already counted above while
	// it waited (bits of g's bounds), known once it is deregistered.
	counted uint64
	stream  bool // latency is time to head: a stream is judged by ttfb and errors
	noBound bool // never a latency or ttfb sample (upgrades)
}

// begin starts tracking a request to the series' current generation.
func (s *series) begin(start time.Time) flight {
	g := s.cur.Load()
	f := flight{g: g, start: start}
	if len(g.boundList()) > 0 { // nothing to judge it against otherwise
		f.slot = g.flight.register(start.UnixNano()-g.sinceNs) + 1
	}
	return f
}

// beginUntracked starts a request that is never a latency sample (an
// upgrade: a tunnel's lifetime is not latency).
func (s *series) beginUntracked(start time.Time) flight {
	return flight{g: s.cur.Load(), start: start, noBound: true}
}

// release takes the request out of the in-flight set (idempotent; a zero
// flight has nothing to release) and notes which bounds it was counted
// above meanwhile.
func (f *flight) release() {
	if f.slot > 0 {
		f.counted |= f.g.flight.unregister(f.slot - 1)
		f.slot = 0
	}
}

// headAt notes that the response head arrived at t: the request no longer
// waits.
func (f *flight) headAt(t time.Time) {
	f.head = t
	f.release()
}

// latency is the request's latency sample: until the answer was relayed,
// or until its head for a stream (a healthy 30 s token stream is not
// slow) and for a request that never completed its head.
func (f *flight) latency(end time.Time) time.Duration {
	if f.stream && !f.head.IsZero() {
		return f.head.Sub(f.start)
	}
	return end.Sub(f.start)
}

// complete counts a finished request in its generation. It reports whether
// it is bad evidence (an error, or above a bound).
func (g *gen) complete(f *flight, lat time.Duration, o outcome) (bad bool) {
	g.req.Add(1)
	switch o {
	case outcome5xx:
		g.s5xx.Add(1)
		g.errs.Add(1)
		bad = true
	case outcomeConnErr, outcomeStreamErr:
		g.errs.Add(1)
		bad = true
	}
	if f.noBound {
		return bad
	}
	for _, b := range g.boundList() {
		if f.counted&b.bit != 0 {
			continue // counted while it waited
		}
		d := lat
		if b.kind == boundTTFB {
			if f.first.IsZero() {
				continue // no body byte ever came: no ttfb sample
			}
			d = f.first.Sub(f.start)
		}
		b.n.Add(1)
		if d > b.limit {
			b.above.Add(1)
			bad = true
		}
	}
	return bad
}

// scan counts the waiting requests older than a bound they were not yet
// counted above.
func (g *gen) scan(now time.Time) {
	bounds := g.boundList()
	if len(bounds) == 0 {
		return
	}
	g.flight.each(func(w *atomic.Uint64, cur uint64) {
		age := now.UnixNano() - g.sinceNs - flightStart(cur)
		var add uint64
		for _, b := range bounds {
			if cur&b.bit == 0 && age > int64(b.limit) {
				add |= b.bit
			}
		}
		if add == 0 || !w.CompareAndSwap(cur, cur|add) {
			return // nothing new, or it was answered meanwhile (then it counts itself)
		}
		for _, b := range bounds {
			if add&b.bit != 0 {
				b.n.Add(1)
				b.above.Add(1)
			}
		}
	})
}

// Cumulative is a version's evidence since its counters last started
// (Since, when it was last activated): counts that only grow.
type Cumulative struct {
	Since                       time.Time
	Requests, Errors, Status5xx int64
	// Bounds are the counts of the tracked bounds (Switch.Track).
	Bounds []BoundCount
	// Compared and Mismatched count shadow copies checked against the
	// live answer and those that disagreed (zero outside a shadow run).
	Compared, Mismatched int64
}

// BoundCount is one tracked bound: N observations, Above of them above
// Bound (ms, exactly as Track was given it). A request older than the bound
// while it waited counts as one observation above it from that moment.
type BoundCount struct {
	TTFB  bool // time to first byte (ttfb_*); false: latency (latency_*)
	Bound float64
	N     int64
	Above int64
}

// Bound returns the count of a tracked bound, ok false if it is not tracked.
func (c Cumulative) Bound(ttfb bool, bound float64) (BoundCount, bool) {
	for _, b := range c.Bounds {
		if b.TTFB == ttfb && b.Bound == bound {
			return b, true
		}
	}
	return BoundCount{}, false
}

func (g *gen) cumulative(now time.Time) Cumulative {
	g.scan(now)
	c := Cumulative{Since: g.since, Requests: g.req.Load(), Errors: g.errs.Load(), Status5xx: g.s5xx.Load(),
		Compared: g.cmpN.Load(), Mismatched: g.cmpBad.Load()}
	for _, b := range g.boundList() {
		c.Bounds = append(c.Bounds, BoundCount{TTFB: b.kind == boundTTFB, Bound: b.key, N: b.n.Load(), Above: b.above.Load()})
	}
	return c
}
