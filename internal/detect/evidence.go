package detect

import (
	"math"

	"github.com/ripcord/ripcord/internal/signal"
)

// Count is cumulative sequential evidence (see signal.Count). Bad may be
// fractional when each observation is a value in [0, 1] (a toxicity score,
// one minus a quality score, a pushed mean over N samples): the tests stay
// valid for such values, see stats.RateTest.
type Count = signal.Count

// Evidence is what the sources report about one metric of the watched
// version.
//
// Sample is the metric over the policy window, for people to read and for
// metrics judged by the fixed-window rule. Its Counts, when set, are the
// sequential evidence the tests are fed with:
//
//   - rates (error_rate, toxic_output_rate, ...): Counts[0] — requests and
//     the bad ones among them;
//   - quantiles (latency_p99_ms, ttfb_p50_ms, ...): Counts[bound] for every
//     bound the guard asks for (Guard.Bounds), in the metric's unit — the
//     observations and those above the bound, a slow request counted as
//     slow from the moment it passed the bound, answered or not;
//   - quality_score: Counts[0] with Bad = Σ (1 - score).
//
// Counts are cumulative and only grow; a source whose counter went
// backwards (a restart) is handled by the guard as a new base, so they
// may also be raw counters.
type Evidence struct {
	Missing bool
	Sample  signal.Sample
	// Baseline is the previous version's value, for rules with a baseline.
	Baseline *signal.Sample
	// Series and BaselineSeries are per-interval values of both versions,
	// for the Mann-Whitney comparison (a fixed-window rule).
	Series, BaselineSeries []float64
}

// sequential reports whether the rule's metric is judged by sequential
// tests, given the evidence a source delivers for it: rates and quantiles
// with counts, and quality scores with counts. Gauges (throughput, CPU,
// memory) and windowed sources without counts use the fixed-window rule.
func sequential(rule Rule, ev Evidence) bool {
	if ev.Sample.Counts == nil {
		return false
	}
	switch signal.KindOf(rule.Metric) {
	case signal.KindRate, signal.KindQuantile:
		return !rule.LowerIsWorse
	}
	return rule.Metric == signal.QualityScore && rule.LowerIsWorse
}

// testBound is the bound one test applies, in the metric's unit (limit) and
// as the share of bad observations the rate test checks (share).
type testBound struct {
	limit float64
	share float64
	// key selects the Count the test reads: 0 for rates and quality, the
	// limit itself for quantiles.
	key float64
}

// boundFor maps a metric's limit to the rate a sequential test checks. It
// reports false when the bound makes no sense as a rate test (0% or 100%),
// in which case the fixed-window rule judges the metric.
func boundFor(metric string, limit float64) (testBound, bool) {
	b := testBound{limit: limit}
	switch {
	case signal.KindOf(metric) == signal.KindQuantile:
		b.share, b.key = 1-quantileOf(metric), limit
	case metric == signal.QualityScore:
		b.share = 1 - limit // the share of badness a score below limit implies
	default:
		b.share = limit
	}
	return b, b.share > 0 && b.share < 1 && !math.IsNaN(b.share)
}

// quantileOf is the quantile a latency metric names: 0.99 for *_p99_ms.
func quantileOf(metric string) float64 {
	switch metric {
	case signal.LatencyP50, signal.TTFBP50:
		return 0.5
	default:
		return 0.99
	}
}
