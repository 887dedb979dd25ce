package detect

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

func f(v float64) *float64 { return &v }

var seedPolicy = Policy{
	MinSamples: 50, Require: 2, Confidence: 0.99,
	Rules: []Rule{
		{Metric: signal.ErrorRate, Max: f(0.05), Critical: f(0.25)},
		{Metric: signal.LatencyP99, Max: f(3000), Critical: f(10000)},
		{Metric: signal.QualityScore, Min: f(0.75), Critical: f(0.5), LowerIsWorse: true},
		{Metric: signal.ToxicOutputRate, Max: f(0.01), Critical: f(0.05)},
	},
}

func obs(v float64, n int64) Observation {
	return Observation{Sample: signal.Sample{Value: v, Samples: n, Window: 10 * time.Second}}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		obs    map[string]Observation
		want   Verdict
		reason string
	}{
		{"all fine", map[string]Observation{signal.ErrorRate: obs(0.01, 2000), signal.LatencyP99: obs(120, 2000)}, Healthy, "healthy"},
		{"one anomaly is suspect, never healthy", map[string]Observation{signal.ErrorRate: obs(0.12, 2113), signal.LatencyP99: obs(120, 2113)}, Suspect, "suspect: 1 of 2 anomalies"},
		{"two anomalies", map[string]Observation{signal.ErrorRate: obs(0.12, 2113), signal.LatencyP99: obs(4000, 2113)}, Degraded, "error_rate 12.0% > 5.0% (2,113 requests, window 10s)"},
		{"critical alone", map[string]Observation{signal.ErrorRate: obs(0.6, 200), signal.LatencyP99: obs(10, 200)}, Degraded, "error_rate 60.0% > critical 25.0%"},
		{"quality critical is a lower bound", map[string]Observation{signal.QualityScore: obs(0.3, 200)}, Degraded, "quality_score 0.30 < critical 0.50"},
		{"quality below min", map[string]Observation{signal.QualityScore: obs(0.7, 200), signal.ToxicOutputRate: obs(0.2, 400)}, Degraded, "quality_score 0.70 < 0.75"},
		{"too few samples", map[string]Observation{signal.ErrorRate: obs(1, 49), signal.LatencyP99: obs(20000, 49)}, Inconclusive, "only 49 samples, need 50"},
		{"missing is blind", map[string]Observation{signal.ErrorRate: obs(0.0, 500), signal.QualityScore: {Missing: true}}, Blind, "flying blind: quality_score no data"},
		{"degraded wins over blind", map[string]Observation{signal.ErrorRate: obs(0.9, 500), signal.QualityScore: {Missing: true}}, Degraded, "critical"},
		{"nothing to judge", map[string]Observation{}, Inconclusive, "no metrics"},
		{"noise at min_samples is not an anomaly", map[string]Observation{signal.ErrorRate: obs(0.06, 50), signal.ToxicOutputRate: obs(0.04, 50)}, Healthy, "healthy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(seedPolicy, tt.obs)
			if r.Verdict != tt.want {
				t.Fatalf("verdict %v, want %v (%s)", r.Verdict, tt.want, r.Reason)
			}
			if !strings.Contains(r.Reason, tt.reason) {
				t.Fatalf("reason %q does not contain %q", r.Reason, tt.reason)
			}
		})
	}
}

func TestWilsonKnownValues(t *testing.T) {
	// 10 of 100 at 95% two-sided (z=1.96): [0.0552, 0.1744] (Wilson 1927,
	// as tabulated by Newcombe 1998). One-sided 0.975 uses the same z.
	lo, hi := Wilson(0.1, 100, 0.975)
	if math.Abs(lo-0.0552) > 0.0005 || math.Abs(hi-0.1744) > 0.0005 {
		t.Fatalf("Wilson(0.1,100) = [%.4f, %.4f], want [0.0552, 0.1744]", lo, hi)
	}
	if z := normalQuantile(0.99); math.Abs(z-2.3263) > 1e-4 {
		t.Fatalf("z(0.99)=%v", z)
	}
}

// TestNoisyHealthyNeverDegraded draws many windows from a healthy-but-noisy
// version (3% true error rate, jittery latency well under the bound) and
// checks that not one of them is judged Degraded.
func TestNoisyHealthyNeverDegraded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		n := int64(50 + rng.IntN(2000))
		errs := 0
		for range n {
			if rng.Float64() < 0.03 {
				errs++
			}
		}
		r := Evaluate(seedPolicy, map[string]Observation{
			signal.ErrorRate:  obs(float64(errs)/float64(n), n),
			signal.LatencyP99: obs(200+rng.Float64()*1500, n),
		})
		if r.Verdict == Degraded {
			t.Fatalf("window %d (n=%d, errors=%d) judged degraded: %s", i, n, errs, r.Reason)
		}
	}
}

func TestStreak(t *testing.T) {
	bad := func(n int64) Result { return Result{Verdict: Degraded, Samples: n} }
	good := Result{Verdict: Healthy, Samples: 10}
	var s Streak
	var act bool
	s, act = s.Step(bad(100), 2)
	if act || s.Bad != 1 {
		t.Fatalf("after one bad: %+v act=%v", s, act)
	}
	s, act = s.Step(bad(100), 2) // same samples: not new evidence
	if act || s.Bad != 1 {
		t.Fatalf("repeat counted: %+v", s)
	}
	s, act = s.Step(good, 2)
	if act || s.Bad != 0 {
		t.Fatalf("healthy did not reset: %+v", s)
	}
	s, _ = s.Step(bad(120), 2)
	s, act = s.Step(bad(140), 2)
	if !act {
		t.Fatalf("two fresh bad verdicts did not act: %+v", s)
	}
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 2113: "2,113", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d)=%q want %q", n, got, want)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	o := map[string]Observation{signal.ErrorRate: obs(0.02, 2000), signal.LatencyP99: obs(300, 2000),
		signal.QualityScore: obs(0.9, 300), signal.ToxicOutputRate: obs(0.001, 300)}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(seedPolicy, o)
	}
}

func TestBaseline(t *testing.T) {
	base := func(v float64, n int64) *signal.Sample { return &signal.Sample{Value: v, Samples: n} }
	pol := Policy{MinSamples: 50, Require: 1, Confidence: 0.99}
	tests := []struct {
		name   string
		rule   Rule
		obs    Observation
		want   Verdict
		reason string
	}{
		{"relative increase", Rule{Metric: signal.LatencyP99, Baseline: &Baseline{MaxIncrease: f(0.2)}},
			Observation{Sample: signal.Sample{Value: 300, Samples: 500}, Baseline: base(200, 500)}, Degraded, "latency_p99_ms 300ms vs baseline 200ms (+50%, max +20%)"},
		{"within relative", Rule{Metric: signal.LatencyP99, Baseline: &Baseline{MaxIncrease: f(0.2)}},
			Observation{Sample: signal.Sample{Value: 230, Samples: 500}, Baseline: base(200, 500)}, Healthy, "healthy"},
		{"absolute delta on a rate", Rule{Metric: signal.ErrorRate, Baseline: &Baseline{MaxDelta: f(0.05)}},
			Observation{Sample: signal.Sample{Value: 0.09, Samples: 500}, Baseline: base(0.01, 500)}, Degraded, "worse by more than 5.0 points"},
		{"lower is worse", Rule{Metric: signal.QualityScore, LowerIsWorse: true, Baseline: &Baseline{MaxIncrease: f(0.1)}},
			Observation{Sample: signal.Sample{Value: 0.7, Samples: 500}, Baseline: base(0.9, 500)}, Degraded, "vs baseline 0.90"},
		{"improvement is fine", Rule{Metric: signal.QualityScore, LowerIsWorse: true, Baseline: &Baseline{MaxIncrease: f(0.1)}},
			Observation{Sample: signal.Sample{Value: 0.95, Samples: 500}, Baseline: base(0.9, 500)}, Healthy, "healthy"},
		{"no baseline is inconclusive", Rule{Metric: signal.LatencyP99, Baseline: &Baseline{MaxIncrease: f(0.2)}},
			Observation{Sample: signal.Sample{Value: 900, Samples: 500}}, Inconclusive, "no baseline yet"},
		{"mann-whitney worse", Rule{Metric: signal.LatencyP99, Baseline: &Baseline{MannWhitney: true, Confidence: 0.99, Tolerance: 0.1}},
			Observation{Sample: signal.Sample{Value: 150, Samples: 500}, Baseline: base(100, 500),
				Series: seq(140, 30), BaselineSeries: seq(100, 30)}, Degraded, "Mann-Whitney"},
		{"mann-whitney too few", Rule{Metric: signal.LatencyP99, Baseline: &Baseline{MannWhitney: true, Confidence: 0.99, Tolerance: 0.1}},
			Observation{Sample: signal.Sample{Value: 150, Samples: 500}, Baseline: base(100, 500),
				Series: seq(140, 3), BaselineSeries: seq(100, 30)}, Inconclusive, "inconclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pol
			p.Rules = []Rule{tt.rule}
			r := Evaluate(p, map[string]Observation{tt.rule.Metric: tt.obs})
			if r.Verdict != tt.want || !strings.Contains(r.Reason+" "+r.Findings[0].Text, tt.reason) {
				t.Fatalf("got %v %q / %q, want %v containing %q", r.Verdict, r.Reason, r.Findings[0].Text, tt.want, tt.reason)
			}
		})
	}
}

// seq returns n values around centre with a little spread.
func seq(centre float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = centre + float64(i%7) - 3
	}
	return out
}
