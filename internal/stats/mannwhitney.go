package stats

import (
	"math"
	"slices"
)

// Alternative is the alternative hypothesis of a test about sample a versus
// sample b.
type Alternative int

const (
	// TwoSided: a and b differ in location, in either direction.
	TwoSided Alternative = iota
	// Greater: a tends to be larger than b.
	Greater
	// Less: a tends to be smaller than b.
	Less
)

func (a Alternative) String() string {
	switch a {
	case Greater:
		return "greater"
	case Less:
		return "less"
	default:
		return "two-sided"
	}
}

// ExactLimit is the largest sample size (on each side) for which MannWhitney
// computes an exact p-value. Above it the normal approximation is within a
// few thousandths of the exact value and much cheaper.
const ExactLimit = 20

// MannWhitney runs the Mann-Whitney U test of a against b.
//
// u is the U statistic of a: the number of pairs (a[i], b[j]) with
// a[i] > b[j], ties counting one half (scipy's U1). p is the p-value for the
// given alternative: exact when both samples have at most ExactLimit values
// and no value is tied, otherwise from the normal approximation with tie
// correction and continuity correction.
//
// NaN values are ignored. With an empty sample there is no evidence either
// way: u is 0 and p is 1. When every value is equal the variance of U is zero
// and p is 1 as well.
func MannWhitney(a, b []float64, alt Alternative) (u, p float64) {
	a, b = dropNaN(a), dropNaN(b)
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 0, 1
	}
	r1, ties := rankSum(a, b)
	u = r1 - float64(n1*(n1+1))/2
	if n1 <= ExactLimit && n2 <= ExactLimit && ties == 0 {
		return u, exactP(int(math.Round(u)), n1, n2, alt)
	}
	return u, normalP(u, n1, n2, ties, alt)
}

// dropNaN returns x without NaNs (x itself when it has none); infinities
// rank like any other value.
func dropNaN(x []float64) []float64 {
	if !slices.ContainsFunc(x, math.IsNaN) {
		return x
	}
	out := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

// rankSum ranks the pooled samples (average ranks for ties) and returns the
// rank sum of a and the tie term sum(t^3 - t) over groups of tied values.
func rankSum(a, b []float64) (r1, ties float64) {
	type obs struct {
		v    float64
		from int // 0 for a, 1 for b
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, v := range a {
		all = append(all, obs{v, 0})
	}
	for _, v := range b {
		all = append(all, obs{v, 1})
	}
	slices.SortFunc(all, func(x, y obs) int {
		switch {
		case x.v < y.v:
			return -1
		case x.v > y.v:
			return 1
		}
		return 0
	})
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // average of ranks i+1 .. j
		for k := i; k < j; k++ {
			if all[k].from == 0 {
				r1 += rank
			}
		}
		if t := float64(j - i); t > 1 {
			ties += t*t*t - t
		}
		i = j
	}
	return r1, ties
}

// normalP is the normal approximation with tie-corrected variance and a 0.5
// continuity correction, as scipy.stats.mannwhitneyu(method="asymptotic").
func normalP(u1 float64, n1, n2 int, ties float64, alt Alternative) float64 {
	nf1, nf2 := float64(n1), float64(n2)
	n := nf1 + nf2
	mu := nf1 * nf2 / 2
	variance := nf1 * nf2 / 12 * ((n + 1) - ties/(n*(n-1)))
	if variance <= 0 {
		return 1
	}
	sd := math.Sqrt(variance)
	u2 := nf1*nf2 - u1
	var stat float64
	switch alt {
	case Greater:
		stat = u1
	case Less:
		stat = u2
	default:
		stat = math.Max(u1, u2)
	}
	p := normalSF((stat - mu - 0.5) / sd)
	if alt == TwoSided {
		p *= 2
	}
	return clamp01(p)
}

// normalSF is the upper tail of the standard normal distribution.
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

func clamp01(p float64) float64 { return math.Min(1, math.Max(0, p)) }

// exactP is the p-value of U1 = u from the exact null distribution of U.
func exactP(u, n1, n2 int, alt Alternative) float64 {
	counts := uCounts(n1, n2)
	var total, le, ge float64
	for k, c := range counts {
		total += c
		if k <= u {
			le += c
		}
		if k >= u {
			ge += c
		}
	}
	switch alt {
	case Greater:
		return ge / total
	case Less:
		return le / total
	default:
		return clamp01(2 * math.Min(le, ge) / total)
	}
}

// uCounts returns, for k = 0..n1*n2, how many of the C(n1+n2, n1) equally
// likely arrangements of ranks give U = k. It uses the classic recurrence on
// where the largest observation comes from:
//
//	f(m, n, k) = f(m-1, n, k-n) + f(m, n-1, k),  f(0, n, 0) = f(m, 0, 0) = 1
//
// (if the largest value is from the first sample it beats all n values of the
// second). Counts stay exact in float64 up to C(40, 20) ≈ 1.4e11 < 2^53.
func uCounts(n1, n2 int) []float64 {
	// prev[n] holds f(m-1, n, ·); cur[n] is built from prev[n] and cur[n-1].
	prev := make([][]float64, n2+1)
	for n := range prev {
		prev[n] = []float64{1} // f(0, n, ·): U is always 0
	}
	for m := 1; m <= n1; m++ {
		cur := make([][]float64, n2+1)
		cur[0] = []float64{1} // f(m, 0, ·)
		for n := 1; n <= n2; n++ {
			f := make([]float64, m*n+1)
			for k := range f {
				if k-n >= 0 && k-n < len(prev[n]) {
					f[k] += prev[n][k-n]
				}
				if k < len(cur[n-1]) {
					f[k] += cur[n-1][k]
				}
			}
			cur[n] = f
		}
		prev = cur
	}
	return prev[n2]
}
