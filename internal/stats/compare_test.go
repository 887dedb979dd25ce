package stats

import (
	"math"
	"strings"
	"testing"
)

func TestCompareFailsOnSignificantLargeRegression(t *testing.T) {
	base := make([]float64, 30)
	can := make([]float64, 30)
	for i := range base {
		base[i] = 100 + float64(i%10) // median 104.5
		can[i] = 130 + float64(i%10)  // median 134.5, +28.7%
	}
	v := Compare(base, can, 0.99, 0.1)
	if v.Outcome != Fail {
		t.Fatalf("outcome %v, want fail: %s", v.Outcome, v.Reason)
	}
	for _, want := range []string{"canary median 134 vs baseline 104", "+28.7%", "Mann-Whitney p=", "< 0.01"} {
		if !strings.Contains(v.Reason, want) {
			t.Errorf("reason %q lacks %q", v.Reason, want)
		}
	}
	if v.Center != "median" || v.Baseline != 30 || v.Canary != 30 || v.P >= 0.01 {
		t.Errorf("verdict numbers: %+v", v)
	}
}

func TestCompareSignificantButSmallEffectPasses(t *testing.T) {
	base := make([]float64, 200)
	can := make([]float64, 200)
	for i := range base {
		base[i] = 100 + float64(i%20)*0.01
		can[i] = base[i] + 1 // always higher, but only ~1%
	}
	v := Compare(base, can, 0.99, 0.05)
	if v.Outcome != Pass || v.P >= 0.01 {
		t.Fatalf("outcome %v p=%v, want pass with p<0.01: %s", v.Outcome, v.P, v.Reason)
	}
	if !strings.Contains(v.Reason, "within the +5.0% tolerance") {
		t.Errorf("reason %q does not say the effect is within tolerance", v.Reason)
	}
}

func TestCompareBetterCanaryPasses(t *testing.T) {
	base := []float64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}
	can := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if v := Compare(base, can, 0.99, 0); v.Outcome != Pass {
		t.Errorf("lower latency: %v: %s", v.Outcome, v.Reason)
	}
	// The same numbers for a quality score (lower is worse) fail.
	v := Compare(base, can, 0.99, 0.1, WithWorse(LowerIsWorse))
	if v.Outcome != Fail {
		t.Errorf("lower quality: %v: %s", v.Outcome, v.Reason)
	}
	if v.Effect >= 0 {
		t.Errorf("effect %v should be negative (canary lower)", v.Effect)
	}
}

func TestCompareInconclusive(t *testing.T) {
	few := []float64{1, 2, 3}
	many := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cases := []struct {
		name      string
		base, can []float64
		conf      float64
		opts      []Option
		reason    string
	}{
		{"empty", nil, nil, 0.99, nil, "0 canary and 0 baseline samples, need 10"},
		{"few canary", many, few, 0.99, nil, "3 canary and 10 baseline"},
		{"few baseline", few, many, 0.99, nil, "10 canary and 3 baseline"},
		{"min raised", many, many, 0.99, []Option{WithMinSamples(11)}, "need 11 each"},
		{"NaNs do not count", many, []float64{math.NaN(), math.Inf(1), 1, 2, 3, 4, 5, 6, 7, 8, 9}, 0.99, nil, "9 canary"},
		{"bad confidence", many, many, 1, nil, "confidence 1 is not in (0, 1)"},
	}
	for _, c := range cases {
		v := Compare(c.base, c.can, c.conf, 0.1, c.opts...)
		if v.Outcome != Inconclusive || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s: %v %q, want inconclusive mentioning %q", c.name, v.Outcome, v.Reason, c.reason)
		}
	}
	if v := Compare(few, few, 0.99, 0.1, WithMinSamples(3)); v.Outcome != Pass {
		t.Errorf("3 v 3 with min 3: %v %s", v.Outcome, v.Reason)
	}
}

func TestCompareAllEqualPasses(t *testing.T) {
	same := []float64{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}
	v := Compare(same, same, 0.99, 0)
	if v.Outcome != Pass || v.P != 1 || v.Effect != 0 {
		t.Errorf("all equal: %+v", v)
	}
}

// An error-rate series that is mostly zero has median 0; the means decide
// the effect, and the reason says so.
func TestCompareZeroMedianUsesMeans(t *testing.T) {
	base := make([]float64, 40)
	can := make([]float64, 40)
	for i := range can {
		if i%10 == 0 {
			base[i] = 0.01 // 4 of 40 intervals saw an error
		}
		if i%3 == 0 {
			can[i] = 0.05 // 14 of 40 saw errors, 5x as large
		}
	}
	v := Compare(base, can, 0.99, 0.2)
	if v.Center != "mean" || v.Outcome != Fail {
		t.Fatalf("got %v by %s: %s", v.Outcome, v.Center, v.Reason)
	}
	if !strings.Contains(v.Reason, "canary mean") {
		t.Errorf("reason %q should name the mean", v.Reason)
	}
	// Zero baseline everywhere, any canary errors: infinite relative effect.
	zero := make([]float64, 40)
	v = Compare(zero, can, 0.99, 0.2)
	if !math.IsInf(v.Effect, 1) || v.Outcome != Fail || !strings.Contains(v.Reason, "(+Inf)") {
		t.Errorf("zero baseline: %+v", v)
	}
}
