package detect

import (
	"math"
	"time"

	"github.com/ripcord/ripcord/internal/stats"
)

// Guard judges one watch of one version — from its deploy (or the switch
// to it) for as long as it is live — with sequential, anytime-valid tests:
// evidence is folded in as it arrives, in batches of any size, and the
// chance that a healthy version is ever called bad stays within the
// policy's Alpha however often the guard is asked and however long it
// watches.
//
// A Guard is pure: no I/O and no clock; the caller passes the time. It is
// not safe for concurrent use; the controller owns one per watched version.
type Guard struct {
	p      Policy
	start  time.Time      // when the watch began
	tests  []*metricTests // by rule, as p.Rules (test finds a metric's)
	levels *levels        // set at the first Observe, when the reporting metrics are known
	// windows are the fixed-window rule's "consecutive" counts, for metrics
	// without sequential evidence.
	windows map[string]*windowStreak // nil until a window is anomalous
}

// test is metric's tests, nil if no rule names it. A slice along the
// rules, not a map: a guard is made per watched version, and a map of a
// few entries costs a few hundred bytes. A metric named twice is the last
// rule's, as the map had it.
func (g *Guard) test(metric string) *metricTests {
	for i := len(g.p.Rules) - 1; i >= 0; i-- {
		if g.p.Rules[i].Metric == metric {
			return g.tests[i]
		}
	}
	return nil
}

// metricTests are the sequential tests of one metric.
type metricTests struct {
	anomaly, critical, baseline *seqTest
	// provenSince is when the anomaly test last rose above the sustain
	// level; zero while it is below.
	provenSince time.Time
	// base is the previous version's value the baseline test's limit came
	// from (SetBaseline), for the finding's text.
	base float64
	// marks are the anomaly test's cumulative counts, one at least
	// markEvery apart, over the last sustain: sustain acts only while the
	// fault has been there all along (see persists).
	marks []mark
}

// mark is a test's cumulative counts at a moment (unix nanoseconds: 24
// bytes a mark).
type mark struct {
	at int64
	c  Count
}

// marksPerSustain spaces the marks sustain/16 apart (four to each of the
// sustainParts): at most 17 of them (about 400 bytes) per metric, whatever
// the request rate and sustain.
const marksPerSustain = 16

// sustainParts is how many consecutive stretches of sustain must each show
// the fault.
const sustainParts = 4

// remember notes the counts c at now and forgets marks older than keep
// (one older mark stays: the start of the span).
func (mt *metricTests) remember(now time.Time, c Count, keep time.Duration) {
	at, every := now.UnixNano(), int64(keep/marksPerSustain)
	if mt.marks == nil {
		mt.marks = make([]mark, 0, marksPerSustain+2) // its final size: append never regrows it
	}
	if n := len(mt.marks); n == 0 || at-mt.marks[n-1].at >= every {
		mt.marks = append(mt.marks, mark{at: at, c: c})
	} else {
		mt.marks[n-1].c = c // the newest mark holds the latest counts
	}
	cut := 0
	for cut+1 < len(mt.marks) && at-mt.marks[cut+1].at >= int64(keep) {
		cut++
	}
	if cut > 0 { // shift down: the array is reused, never grows past 18
		mt.marks = append(mt.marks[:0], mt.marks[cut:]...)
	}
}

// persists reports whether the fault was present all through the last
// span: split into sustainParts stretches, the requests of each, on their
// own, show a share of bad ones above the bound. The sequential statistic,
// once high, takes a while to come down after a fault ends (a 6 s burst of
// 15 % errors at 5,000 req/s stays "proven" for ~7 s more), and two bursts
// a few seconds apart would keep it proven for as long as sustain; sustain
// is meant for a fault that persists, not for bursts that came and went.
// An extra condition can only remove alarms, so alpha still holds.
func (mt *metricTests) persists(span time.Duration, share float64) bool {
	if len(mt.marks) < 2 {
		return false
	}
	first, last := mt.marks[0], mt.marks[len(mt.marks)-1]
	total := last.at - first.at
	if total < int64(span-span/marksPerSustain) {
		return false // not watched for the whole span yet
	}
	prev, j := first, 1
	for p := int64(1); p <= sustainParts; p++ {
		end := first.at + total*p/sustainParts
		for j < len(mt.marks)-1 && mt.marks[j].at < end {
			j++
		}
		cur := mt.marks[j]
		n, bad := cur.c.N-prev.c.N, cur.c.Bad-prev.c.Bad
		if n <= 0 || bad <= share*float64(n) {
			return false // a stretch without the fault (or without requests)
		}
		prev = cur
	}
	return true
}

// seqTest is one rate test with its bound and the last counts folded in.
type seqTest struct {
	bound testBound
	t     stats.RateTest
	last  Count // cumulative counts already folded in
	based bool  // the first reading was taken
	// recent counts the evidence since the statistic was last quiet (below
	// 1), which is roughly since the fault began: what a person is shown.
	recent Count
}

// NewGuard starts a watch under p that began at start.
func NewGuard(p Policy, start time.Time) *Guard {
	g := &Guard{p: p, start: start, tests: make([]*metricTests, len(p.Rules))}
	for i, r := range p.Rules {
		mt := &metricTests{}
		if r.Max != nil && !r.LowerIsWorse {
			mt.anomaly = newSeqTest(r.Metric, *r.Max)
		}
		if r.Min != nil && r.LowerIsWorse {
			mt.anomaly = newSeqTest(r.Metric, *r.Min)
		}
		if r.Critical != nil {
			mt.critical = newSeqTest(r.Metric, *r.Critical)
		}
		g.tests[i] = mt
	}
	return g
}

func newSeqTest(metric string, limit float64) *seqTest {
	b, ok := boundFor(metric, limit)
	if !ok {
		return nil // a 0% or 100% bound: the fixed-window rule judges it
	}
	return &seqTest{bound: b, t: stats.NewRateTest(b.share)}
}

// SetBaseline fixes the bound a baseline rule compares against, from the
// previous version's value (taken once, when the watch starts: a baseline
// that moved with the new version would compare it with itself).
func (g *Guard) SetBaseline(metric string, base float64) {
	for _, r := range g.p.Rules {
		if r.Metric != metric || r.Baseline == nil {
			continue
		}
		if limit, ok := baselineLimit(r, base); ok {
			g.test(metric).baseline = newSeqTest(metric, limit)
			g.test(metric).base = base
		}
	}
}

// baselineLimit is the strictest limit a baseline rule allows around base.
func baselineLimit(r Rule, base float64) (float64, bool) {
	b := r.Baseline
	limit, ok := math.Inf(1), false
	if r.LowerIsWorse {
		limit = math.Inf(-1)
	}
	tighter := func(l float64) {
		ok = true
		if r.LowerIsWorse {
			limit = max(limit, l)
		} else {
			limit = min(limit, l)
		}
	}
	sign := 1.0
	if r.LowerIsWorse {
		sign = -1
	}
	if b.MaxDelta != nil {
		tighter(base + sign**b.MaxDelta)
	}
	if b.MaxIncrease != nil && base != 0 {
		tighter(base * (1 + sign**b.MaxIncrease))
	}
	return limit, ok
}

// Bounds lists the limits of a quantile metric that evidence must carry
// counts for (Evidence.Counts keys), so a source knows which thresholds to
// count requests against.
func (g *Guard) Bounds(metric string) []float64 {
	mt := g.test(metric)
	if mt == nil {
		return nil
	}
	var out []float64
	for _, t := range []*seqTest{mt.anomaly, mt.critical, mt.baseline} {
		if t != nil && t.bound.key != 0 {
			out = append(out, t.bound.key)
		}
	}
	return out
}

// countsSlack is how far before the watch's start a source's counters may
// have started and still hold only this watch's requests (the switch
// restarts them as it activates the version, a moment before or after the
// controller notes the watch).
const countsSlack = time.Second

// fold feeds the counts that arrived since the last call into the test.
// A first reading from counters that began before the watch is its base;
// counts that went backwards are a restarted counter, whose new values are
// the increment.
func (t *seqTest) fold(c Count, since, watchStart time.Time) {
	if !t.based {
		t.based = true
		if since.Before(watchStart.Add(-countsSlack)) {
			t.last = c
			return
		}
	}
	n, bad := c.N-t.last.N, c.Bad-t.last.Bad
	if c.N < t.last.N || c.Bad < t.last.Bad {
		n, bad = c.N, c.Bad
	}
	t.last = c
	if n <= 0 {
		return
	}
	bad = min(max(bad, 0), float64(n))
	t.t.Update(n, bad, stats.StartWeight(t.t.N, t.t.N+n))
	if t.t.LogE() < 0 {
		t.recent = Count{}
	} else {
		t.recent.N += n
		t.recent.Bad += bad
	}
}
