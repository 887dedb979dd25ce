package detect

import (
	"fmt"
	"math"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/stats"
)

// Baseline compares a metric with the previous version's.
type Baseline struct {
	MaxIncrease *float64 // relative worsening allowed (0.2 = 20%)
	MaxDelta    *float64 // absolute worsening allowed
	// MannWhitney compares per-interval series with a Mann-Whitney U test:
	// anomalous when worse at Confidence and by more than Tolerance.
	MannWhitney bool
	Confidence  float64
	Tolerance   float64
}

// judgeBaseline returns whether the observation is anomalous against its
// baseline, the text saying why (or why not), and whether there was too
// little to compare.
func judgeBaseline(p Policy, rule Rule, o Observation) (anomalous bool, text string, tooFew bool) {
	b := rule.Baseline
	if o.Baseline == nil || o.Baseline.Samples < p.MinSamples {
		return false, rule.Metric + " has no baseline yet (the previous version has too few samples)", true
	}
	base, cur := o.Baseline.Value, o.Sample.Value
	worse := cur - base
	if rule.LowerIsWorse {
		worse = -worse
	}
	rel := math.Inf(1)
	if base != 0 {
		rel = worse / math.Abs(base)
	} else if worse == 0 {
		rel = 0
	}
	text = fmt.Sprintf("%s %s vs baseline %s (%+.0f%%", rule.Metric, formatValue(rule.Metric, cur), formatValue(rule.Metric, base), 100*signedRel(cur, base))
	switch {
	case b.MaxDelta != nil && worse > *b.MaxDelta:
		return true, text + fmt.Sprintf(", worse by more than %s)", formatDelta(rule.Metric, *b.MaxDelta)), false
	case b.MaxIncrease != nil && rel > *b.MaxIncrease && !(base == 0 && b.MaxDelta != nil):
		return true, text + fmt.Sprintf(", max %+.0f%%)", 100**b.MaxIncrease), false
	}
	if b.MannWhitney {
		dir := stats.HigherIsWorse
		if rule.LowerIsWorse {
			dir = stats.LowerIsWorse
		}
		v := stats.Compare(o.BaselineSeries, o.Series, b.Confidence, b.Tolerance, stats.WithWorse(dir))
		switch v.Outcome {
		case stats.Fail:
			return true, rule.Metric + " " + v.Reason, false
		case stats.Inconclusive:
			return false, rule.Metric + " baseline test inconclusive: " + v.Reason, b.MaxDelta == nil && b.MaxIncrease == nil
		}
	}
	return false, text + ")", false
}

func signedRel(cur, base float64) float64 {
	if base == 0 {
		return 0
	}
	return (cur - base) / math.Abs(base)
}

func formatDelta(metric string, d float64) string {
	if signal.KindOf(metric) == signal.KindRate {
		return fmt.Sprintf("%.1f points", d*100)
	}
	return formatValue(metric, d)
}
