package stats

import "math"

// Sequential tests of a rate: is the share of "bad" observations (errors,
// answers slower than a bound) above Bound? Observations arrive in batches
// of any size, as a switch or a metrics source delivers them, and the test
// may be looked at after every batch, forever, without its error rate
// growing: both tests here are anytime-valid (Ville's inequality holds for
// the nonnegative supermartingales they are built from).
//
// # The alarm: a change-point mixture of likelihood ratios
//
// For one alternative p1 > p0 (the Bound) the likelihood ratio
//
//	L(s, t) = Π_{i=s..t} (p1/p0)^x_i ((1-p1)/(1-p0))^(1-x_i)
//
// is a supermartingale whenever the true rate is at most p0. Two mixtures
// make it useful for a guard that watches for hours:
//
//   - over alternatives: a few p1 (twice the bound, and two larger ones),
//     weighted, so a total outage is caught in a handful of requests while a
//     fault at twice the bound costs little more than the SPRT tuned to it;
//   - over start points: every batch opens a new start point s with a weight
//     w_s taken from a fixed, summable schedule (most of the mass on the
//     start of the watch, a heavy tail for later ones). The sum
//     R_t = Σ_s w_s L(s, t) obeys R_t = F_t (R_{t-1} + w_t), so it costs
//     O(1) per batch, and R_t plus the weight of future start points is a
//     nonnegative supermartingale starting at ≤ 1. Hence
//     P(R_t ≥ 1/a at any time) ≤ a, however long the watch lasts.
//
// A start point at the moment a fault begins carries no healthy history, so
// a fault hours into a watch is judged on its own requests; what it pays is
// its start point's smaller weight, log(1/w), a few extra nats (see
// StartWeight). That is the price of a false-alarm bound that holds over an
// unbounded watch: no procedure can have both that and a constant delay.
//
// # The acceptance: a one-sided SPRT from the other side
//
// Accept tests "the rate is at least twice the bound" and rejects it
// (accepts the version as healthy) when the evidence for "at most the
// bound" reaches 1/beta. It is what "the version was shown healthy"
// means: evidence, not the absence of alarms.

// rateComp is one alternative of the alarm mixture.
type rateComp struct {
	logWeight float64 // log of the mixture weight (weights sum to 1)
	logBad    float64 // log(p1/p0): one bad observation
	logGood   float64 // log((1-p1)/(1-p0)): one good observation
}

// RateTest is the anytime-valid alarm for "rate > Bound" with the
// healthy-side acceptance. The zero value is not usable; use NewRateTest.
// It is a value type: copying it copies the test's state.
type RateTest struct {
	Bound float64
	comps [3]rateComp
	logR  [3]float64 // log R per component; -Inf before any observation
	logE  float64    // log Σ weight·R, kept current by Update

	accBad, accGood float64 // acceptance per-observation log factors
	logAccept       float64 // log evidence for "rate ≤ Bound" against 2×Bound

	// N observations so far, K of them bad. K is fractional when
	// observations are values in [0, 1] (a score): the log factor is
	// linear in the observation, so by convexity the likelihood ratio of
	// a value x is at most x times that of a bad one plus (1-x) times that
	// of a good one, and the statistic stays a supermartingale.
	N int64
	K float64
}

// Alternatives of the mixture: twice the bound (most weight: it is the
// alternative the policy's limit is specified for), and odds 5 and 30 times
// the bound's, which catch outages in a few observations.
var mixture = [3]struct{ oddsRatio, weight float64 }{{0, 0.7}, {5, 0.15}, {30, 0.15}}

// NewRateTest returns a test of "rate > bound" for 0 < bound < 1.
func NewRateTest(bound float64) RateTest {
	t := RateTest{Bound: bound}
	for i, m := range mixture {
		p1 := twiceBound(bound)
		if m.oddsRatio > 0 {
			p1 = fromOdds(odds(bound) * m.oddsRatio)
		}
		t.comps[i] = rateComp{logWeight: math.Log(m.weight), logBad: math.Log(p1 / bound), logGood: math.Log((1 - p1) / (1 - bound))}
		t.logR[i] = math.Inf(-1)
	}
	t.logE = math.Inf(-1)
	p1 := twiceBound(bound)
	t.accBad, t.accGood = math.Log(bound/p1), math.Log((1-bound)/(1-p1))
	return t
}

// twiceBound is the alternative the policy's bound is judged against: twice
// the bound, or for bounds above 1/3 (p50 exceedance is 0.5) odds three
// times the bound's, which stays below 1.
func twiceBound(p0 float64) float64 {
	if p0 <= 1.0/3 {
		return 2 * p0
	}
	return fromOdds(3 * odds(p0))
}

func odds(p float64) float64     { return p / (1 - p) }
func fromOdds(o float64) float64 { return o / (1 + o) }

// Update folds in a batch of n observations whose badness sums to k (the
// number of bad ones, or the sum of values in [0, 1]). startWeight is the
// weight of the start point opened at this batch (see StartWeight).
// Batches with n <= 0 are ignored.
func (t *RateTest) Update(n int64, k, startWeight float64) {
	if n <= 0 {
		return
	}
	k = min(max(k, 0), float64(n))
	good := float64(n) - k
	logW := math.Log(startWeight)
	t.logE = math.Inf(-1)
	for i, c := range t.comps {
		logF := k*c.logBad + good*c.logGood
		t.logR[i] = logF + logAddExp(t.logR[i], logW)
		t.logE = logAddExp(t.logE, c.logWeight+t.logR[i])
	}
	t.logAccept += k*t.accBad + good*t.accGood
	t.N += n
	t.K += k
}

// LogE is the log of the alarm statistic: the version is shown to exceed
// the bound at level a once LogE ≥ log(1/a).
func (t *RateTest) LogE() float64 { return t.logE }

// Alarm reports whether the rate is shown to exceed the bound at level a.
func (t *RateTest) Alarm(a float64) bool { return t.LogE() >= math.Log(1/a) }

// Accepted reports whether the rate is shown to be below twice the bound at
// level beta.
func (t *RateTest) Accepted(beta float64) bool { return t.logAccept >= math.Log(1/beta) }

// Rate is the observed share, K/N (0 before any observation).
func (t *RateTest) Rate() float64 {
	if t.N == 0 {
		return 0
	}
	return t.K / float64(t.N)
}

// StartWeight is the weight of the start points opened by a batch that
// holds observations [from, to) of a watch (from = 0 is the watch's first).
// The start of the watch carries StartMass; the rest is spread over later
// observations with a heavy tail, H(n) = 1 - 1/log2(2 + n/StartScale), so
// the weights sum to at most 1 over an unbounded watch.
//
// What it costs: a fault present from the deploy pays log(1/0.9) = 0.1 nats;
// a start point after 10,000 observations weighs 15 nats, after a million
// 21, after a billion 29 (start points just before a fault help, so the
// cost is a little less). Measured at 50% errors against a 5% bound: a
// median of 9 requests at the deploy, 27 after 10,000 healthy requests, 33
// after a million (TestRateTestLateFault).
func StartWeight(from, to int64) float64 {
	if to <= from {
		return 0
	}
	w := 0.0
	if from == 0 {
		w = StartMass
		from = 1
	}
	return w + (1-StartMass)*(tailMass(to)-tailMass(from))
}

// StartMass is the share of the false-alarm budget given to the start of
// the watch, where a bad deploy's fault is; StartScale sets how fast the
// rest thins out (in observations).
const (
	StartMass  = 0.9
	StartScale = 100
)

// tailMass is H(n) with H(1) ≈ 0 and H(∞) = 1.
func tailMass(n int64) float64 {
	x := 2 + float64(n-1)/StartScale
	return 1 - 1/math.Log2(x)
}

// logAddExp is log(e^a + e^b) without overflow.
func logAddExp(a, b float64) float64 {
	switch {
	case math.IsInf(a, -1):
		return b
	case math.IsInf(b, -1):
		return a
	case a > b:
		return a + math.Log1p(math.Exp(b-a))
	default:
		return b + math.Log1p(math.Exp(a-b))
	}
}
