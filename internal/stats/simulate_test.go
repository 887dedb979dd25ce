package stats

import "testing"

// The detection floors are set a little below the rates measured with the
// fixed seed (see TestSimulatedRates's log output) so a change that makes
// detection worse fails, while the false-positive bound is the requirement
// itself: at confidence 0.99 at most 2% of healthy canaries may fail.
func TestSimulatedRates(t *testing.T) {
	for _, c := range []struct {
		shape       Shape
		detectFloor float64
	}{
		{Latency, 0.25},   // measured 0.334 (FP 0.008)
		{ErrorRate, 0.65}, // measured 0.746 (FP 0.011)
	} {
		r := Simulate(SimConfig{Shape: c.shape, Seed: 20261125, Pairs: 1000, Samples: 200,
			Worse: 0.1, Confidence: 0.99, Tolerance: 0.05})
		t.Logf("%v: 1000 pairs x 200 samples, confidence 0.99, tolerance 5%%: false positives %.1f%% (%d), 10%%-worse detected %.1f%% (%d)",
			c.shape, 100*r.FPRate, r.FalsePositives, 100*r.DetectionRate, r.Detections)
		if r.FPRate > 0.02 {
			t.Errorf("%v: false-positive rate %.3f > 0.02", c.shape, r.FPRate)
		}
		if r.DetectionRate < c.detectFloor {
			t.Errorf("%v: detection rate %.3f < floor %.2f", c.shape, r.DetectionRate, c.detectFloor)
		}
	}
}

func TestSimulatedErrorRateMean(t *testing.T) {
	r := Simulate(SimConfig{Shape: ErrorRate, Seed: 1, Pairs: 0})
	if r.Pairs != 0 || r.FPRate != 0 {
		t.Fatalf("zero pairs: %+v", r)
	}
	base := make([]float64, 20000)
	fill(newRand(3), ErrorRate, 0, base)
	if m := Mean(base); m < 0.0195 || m > 0.0205 {
		t.Errorf("mean simulated error rate %.5f, want ≈ 0.02", m)
	}
}

func BenchmarkSimulate1000x200(b *testing.B) {
	for _, s := range []Shape{Latency, ErrorRate} {
		b.Run(s.String(), func(b *testing.B) {
			var r SimResult
			for b.Loop() {
				r = Simulate(SimConfig{Shape: s, Seed: 20261125, Pairs: 1000, Samples: 200,
					Worse: 0.1, Confidence: 0.99, Tolerance: 0.05})
			}
			b.ReportMetric(r.FPRate, "fp-rate")
			b.ReportMetric(r.DetectionRate, "detect-rate")
		})
	}
}

func BenchmarkMannWhitney200(b *testing.B) {
	x, y := make([]float64, 200), make([]float64, 200)
	r := newRand(5)
	fill(r, Latency, 0, x)
	fill(r, Latency, 0.1, y)
	for b.Loop() {
		MannWhitney(y, x, Greater)
	}
}
