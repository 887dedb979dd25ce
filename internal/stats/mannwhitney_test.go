package stats

import (
	"math"
	"testing"
)

// Reference values marked "scipy" were computed with scipy 1.10.1 (Debian
// bookworm's python3-scipy) as
//
//	scipy.stats.mannwhitneyu(a, b, alternative=ALT, method=METHOD)
//
// whose defaults match ours: U is the statistic of the first sample and the
// asymptotic method uses the tie-corrected variance with use_continuity=True.
// The males/females example is also the one in scipy's own documentation
// (U=17, exact two-sided p=0.1111, asymptotic 0.11134688653314041).

func TestMannWhitneyScipyReference(t *testing.T) {
	males := []float64{19, 22, 16, 29, 24}
	females := []float64{20, 11, 17, 12}
	x := []float64{1.1, 2.3, 3.7, 4.2, 5.9, 6.4, 8.8}
	y := []float64{0.5, 0.9, 1.7, 2.1, 3.3, 4.0}
	tiedA := []float64{1, 2, 2, 3, 3, 3, 4, 5}
	tiedB := []float64{2, 3, 4, 4, 5, 5, 6, 7, 7}
	// 20 v 20 without ties: exact. Drawn once with numpy's
	// default_rng(7), normal(10,2) and normal(11,2), rounded to 3 decimals.
	xx := []float64{10.002, 10.597, 9.452, 8.219, 9.091, 8.017, 10.12, 12.68, 9.016, 8.759, 10.98, 10.714, 10.211, 8.139, 9.941, 11.391, 7.312, 9.085, 6.198, 7.421}
	yy := []float64{7.317, 10.53, 8.465, 11.543, 11.314, 10.626, 5.966, 9.923, 10.903, 11.227, 7.94, 10.044, 9.043, 9.382, 13.122, 9.385, 10.935, 12.769, 9.833, 10.777}
	// 25 v 30 without ties: above ExactLimit, so asymptotic.
	var la, lb []float64
	for i := range 25 {
		la = append(la, float64(i)*0.7+float64(i%3)*0.11)
	}
	for j := range 30 {
		lb = append(lb, float64(j)*0.6+1.55)
	}
	cases := []struct {
		name string
		a, b []float64
		alt  Alternative
		u, p float64
	}{
		{"males/females exact two-sided", males, females, TwoSided, 17, 0.1111111111111111},
		{"males/females exact greater", males, females, Greater, 17, 0.05555555555555555},
		{"males/females exact less", males, females, Less, 17, 0.9682539682539684},
		{"7v6 exact two-sided", x, y, TwoSided, 35, 0.05128205128205128},
		{"7v6 exact greater", x, y, Greater, 35, 0.02564102564102564},
		{"7v6 exact less", x, y, Less, 35, 0.9825174825174826},
		{"ties two-sided", tiedA, tiedB, TwoSided, 13.5, 0.03175895714806371},
		{"ties greater", tiedA, tiedB, Greater, 13.5, 0.9876172774448116},
		{"ties less", tiedA, tiedB, Less, 13.5, 0.015879478574031856},
		{"20v20 exact two-sided", xx, yy, TwoSided, 149, 0.17382861234967434},
		{"20v20 exact greater", xx, yy, Greater, 149, 0.9173299902975383},
		{"20v20 exact less", xx, yy, Less, 149, 0.08691430617483717},
		{"25v30 asymptotic two-sided", la, lb, TwoSided, 305, 0.24008898082650276},
		{"25v30 asymptotic greater", la, lb, Greater, 305, 0.8833041766791183},
		{"25v30 asymptotic less", la, lb, Less, 305, 0.12004449041325138},
	}
	for _, c := range cases {
		u, p := MannWhitney(c.a, c.b, c.alt)
		if u != c.u || !near(p, c.p, 1e-12) {
			t.Errorf("%s: got U=%v p=%.17g, scipy says U=%v p=%.17g", c.name, u, p, c.u, c.p)
		}
	}
}

// The asymptotic path on the same data as scipy's method="asymptotic".
func TestMannWhitneyNormalMatchesScipyAsymptotic(t *testing.T) {
	males := []float64{19, 22, 16, 29, 24}
	females := []float64{20, 11, 17, 12}
	r1, ties := rankSum(males, females)
	u := r1 - 15
	for _, c := range []struct {
		alt Alternative
		p   float64
	}{
		{TwoSided, 0.11134688653314041}, // scipy, also in scipy's docs
		{Greater, 0.055673443266570206}, // scipy
		{Less, 0.9669037101389033},      // scipy
	} {
		if p := normalP(u, 5, 4, ties, c.alt); !near(p, c.p, 1e-12) {
			t.Errorf("%v: got %.17g, scipy asymptotic %.17g", c.alt, p, c.p)
		}
	}
}

// Critical values of U for a two-tailed test at alpha 0.05 and 0.01, as printed
// in the standard Mann-Whitney tables reproduced in nonparametric statistics
// textbooks: the null hypothesis is rejected when the smaller U is at or
// below the value, i.e. each value is the largest u whose exact two-sided
// p-value is <= alpha. They were written down from those tables and then
// checked against scipy 1.10.1's exact null distribution
// (scipy.stats._mannwhitneyu._mwu_state.cdf), which gives the same numbers.
func TestExactCriticalValuesMatchTables(t *testing.T) {
	cases := []struct {
		n1, n2         int
		crit05, crit01 int
	}{
		{5, 5, 2, 0},
		{6, 6, 5, 2},
		{7, 7, 8, 4},
		{8, 8, 13, 7},
		{5, 10, 8, 4},
		{10, 10, 23, 16},
		{12, 12, 37, 27},
		{15, 15, 64, 51},
		{20, 20, 127, 105},
	}
	for _, c := range cases {
		for _, lv := range []struct {
			alpha float64
			crit  int
		}{{0.05, c.crit05}, {0.01, c.crit01}} {
			if p := exactP(lv.crit, c.n1, c.n2, TwoSided); p > lv.alpha {
				t.Errorf("n=%d,%d U=%d: two-sided p=%.4f, table says significant at %.2f", c.n1, c.n2, lv.crit, p, lv.alpha)
			}
			if p := exactP(lv.crit+1, c.n1, c.n2, TwoSided); p <= lv.alpha {
				t.Errorf("n=%d,%d U=%d: two-sided p=%.4f, table says not significant at %.2f", c.n1, c.n2, lv.crit+1, p, lv.alpha)
			}
		}
	}
}

// uCounts against brute force: enumerate every subset of ranks for the first
// sample and count U directly.
func TestUCountsBruteForce(t *testing.T) {
	for _, n := range [][2]int{{1, 1}, {2, 3}, {4, 4}, {3, 7}, {6, 5}, {8, 8}} {
		n1, n2 := n[0], n[1]
		want := make([]float64, n1*n2+1)
		for mask := 0; mask < 1<<(n1+n2); mask++ {
			if popcount(mask) != n1 {
				continue
			}
			// U = pairs (a, b) with a ranked above b.
			u, bSeen := 0, 0
			for r := 0; r < n1+n2; r++ {
				if mask&(1<<r) != 0 {
					u += bSeen
				} else {
					bSeen++
				}
			}
			want[u]++
		}
		got := uCounts(n1, n2)
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("n=%d,%d: count of U=%d is %v, brute force %v", n1, n2, k, got[k], want[k])
			}
		}
	}
}

func TestMannWhitneyEdgeCases(t *testing.T) {
	if u, p := MannWhitney(nil, []float64{1, 2}, TwoSided); u != 0 || p != 1 {
		t.Errorf("empty a: U=%v p=%v, want 0, 1", u, p)
	}
	if u, p := MannWhitney([]float64{1}, nil, Greater); u != 0 || p != 1 {
		t.Errorf("empty b: U=%v p=%v, want 0, 1", u, p)
	}
	// All equal: U = n1*n2/2 (scipy: 4.5), zero variance, p = 1 (scipy: 1.0).
	eq := []float64{1, 1, 1}
	if u, p := MannWhitney(eq, eq, TwoSided); u != 4.5 || p != 1 {
		t.Errorf("all equal: U=%v p=%v, want 4.5, 1", u, p)
	}
	// NaNs are dropped: same answer as without them.
	u1, p1 := MannWhitney([]float64{19, 22, math.NaN(), 16, 29, 24}, []float64{20, 11, 17, math.NaN(), 12}, TwoSided)
	if u1 != 17 || !near(p1, 0.1111111111111111, 1e-12) {
		t.Errorf("with NaNs: U=%v p=%v, want 17, 0.1111", u1, p1)
	}
	// Complete separation, 3 v 3: exact one-sided p = 1/C(6,3) = 0.05.
	if _, p := MannWhitney([]float64{4, 5, 6}, []float64{1, 2, 3}, Greater); !near(p, 0.05, 1e-15) {
		t.Errorf("separated 3v3: p=%v, want 1/20", p)
	}
	// Symmetry: greater for (a, b) is less for (b, a).
	a, b := []float64{3.1, 4.7, 5.2, 8.8}, []float64{1.0, 2.5, 4.0, 6.1, 7.7}
	_, pg := MannWhitney(a, b, Greater)
	_, pl := MannWhitney(b, a, Less)
	if !near(pg, pl, 1e-15) {
		t.Errorf("greater(a,b)=%v != less(b,a)=%v", pg, pl)
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
