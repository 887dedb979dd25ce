package stats

import (
	"fmt"
	"math"
	"slices"
)

// Outcome is the result of comparing a canary with its baseline.
type Outcome int

const (
	// Inconclusive: too few samples (or no usable ones) to judge.
	Inconclusive Outcome = iota
	// Pass: no significant difference that matters in the bad direction.
	Pass
	// Fail: the canary is significantly AND materially worse.
	Fail
)

func (o Outcome) String() string {
	switch o {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	default:
		return "inconclusive"
	}
}

// Direction says which way a metric gets worse.
type Direction int

const (
	// HigherIsWorse: latency, error rate, memory.
	HigherIsWorse Direction = iota
	// LowerIsWorse: quality score, throughput.
	LowerIsWorse
)

// DefaultMinSamples is how many finite values each side needs before Compare
// gives anything but Inconclusive.
const DefaultMinSamples = 10

// Verdict is Compare's answer with the numbers behind it.
type Verdict struct {
	Outcome Outcome
	// Reason says why in numbers, e.g. "canary median 0.131 vs baseline
	// 0.100 (+31.0%), Mann-Whitney p=0.002 < 0.01".
	Reason string
	// Baseline and Canary count the finite values compared.
	Baseline, Canary int
	// Center names the statistic compared: "median", or "mean" when the
	// baseline median is zero.
	Center                       string
	BaselineCenter, CanaryCenter float64
	// Effect is (canary - baseline) / |baseline| of the centres: +0.31 is
	// 31% higher. It is +Inf or -Inf when the baseline centre is zero and
	// the canary's is not.
	Effect float64
	// U is the canary's Mann-Whitney U; P the one-sided p-value in the bad
	// direction.
	U, P float64
}

// Option adjusts Compare.
type Option func(*compareOptions)

type compareOptions struct {
	minSamples int
	worse      Direction
}

// WithMinSamples sets how many finite values each side needs (default
// DefaultMinSamples). Values below 1 mean 1.
func WithMinSamples(n int) Option {
	return func(o *compareOptions) { o.minSamples = max(n, 1) }
}

// WithWorse sets which direction is bad (default HigherIsWorse).
func WithWorse(d Direction) Option {
	return func(o *compareOptions) { o.worse = d }
}

// Compare judges canary against baseline, Kayenta style. It is Fail only when
// the one-sided Mann-Whitney p-value in the bad direction is below
// 1-confidence AND the relative effect in the bad direction exceeds
// effectTolerance (0.1 = 10%). Fewer than the minimum finite values on
// either side, or a confidence outside (0, 1), is Inconclusive. Non-finite
// values are ignored.
func Compare(baseline, canary []float64, confidence, effectTolerance float64, opts ...Option) Verdict {
	o := compareOptions{minSamples: DefaultMinSamples}
	for _, opt := range opts {
		opt(&o)
	}
	base, can := finite(baseline), finite(canary)
	v := Verdict{Baseline: len(base), Canary: len(can), P: 1}
	if !(confidence > 0 && confidence < 1) {
		v.Reason = fmt.Sprintf("inconclusive: confidence %g is not in (0, 1)", confidence)
		return v
	}
	if len(base) < o.minSamples || len(can) < o.minSamples {
		v.Reason = fmt.Sprintf("inconclusive: %d canary and %d baseline samples, need %d each",
			len(can), len(base), o.minSamples)
		return v
	}
	alt := Greater
	if o.worse == LowerIsWorse {
		alt = Less
	}
	v.U, v.P = MannWhitney(can, base, alt)
	v.Center, v.BaselineCenter, v.CanaryCenter = centers(base, can)
	v.Effect = relative(v.CanaryCenter, v.BaselineCenter)
	worseBy := v.Effect
	if o.worse == LowerIsWorse {
		worseBy = -worseBy
	}
	alpha := 1 - confidence
	tol := math.Max(effectTolerance, 0)
	numbers := fmt.Sprintf("canary %s %.3g vs baseline %.3g (%s), Mann-Whitney p=%.3g",
		v.Center, v.CanaryCenter, v.BaselineCenter, percent(v.Effect), v.P)
	switch {
	case v.P < alpha && worseBy > tol:
		v.Outcome = Fail
		v.Reason = fmt.Sprintf("%s < %.3g", numbers, alpha)
	case v.P < alpha:
		v.Outcome = Pass
		v.Reason = fmt.Sprintf("%s < %.3g but the effect is within the %s tolerance", numbers, alpha, percent(tol))
	default:
		v.Outcome = Pass
		v.Reason = fmt.Sprintf("%s ≥ %.3g", numbers, alpha)
	}
	return v
}

// centers returns the medians, or the means when the baseline median is zero
// (a relative difference from zero says nothing).
func centers(base, can []float64) (name string, b, c float64) {
	b, c = Median(base), Median(can)
	if b != 0 {
		return "median", b, c
	}
	return "mean", Mean(base), Mean(can)
}

func relative(canary, baseline float64) float64 {
	switch {
	case baseline != 0:
		return (canary - baseline) / math.Abs(baseline)
	case canary > 0:
		return math.Inf(1)
	case canary < 0:
		return math.Inf(-1)
	}
	return 0
}

func percent(x float64) string {
	if math.IsInf(x, 0) {
		return fmt.Sprintf("%+.0f", x) // "+Inf" or "-Inf"
	}
	return fmt.Sprintf("%+.1f%%", 100*x)
}

// finite returns the finite values of x in a new slice.
func finite(x []float64) []float64 {
	out := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}

// Median of x (NaN for an empty x). x is not modified.
func Median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Mean of x (NaN for an empty x).
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, v := range x {
		sum += v
	}
	return sum / float64(len(x))
}
