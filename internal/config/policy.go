package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Validate checks one policy on its own (paths start at "policy"), for code
// that builds or changes a policy outside a config file.
func (p *Policy) Validate() error {
	var r report
	p.validate(&r, "policy")
	return r.err()
}

func (p *Policy) validate(r *report, path string) {
	positive(r, child(path, "interval"), p.Interval, "250ms")
	positive(r, child(path, "window"), p.Window, "10s")
	if p.Interval > 0 && p.Window > 0 && p.Interval > p.Window {
		r.add(child(path, "interval"), "%s is longer than window (%s): the verdict must be recomputed at least once per window", p.Interval, p.Window)
	}
	atLeast(r, child(path, "min_samples"), p.MinSamples, 0, "it is a floor on the observations behind an anomaly; 0 turns it off")
	atLeast(r, child(path, "require"), int64(p.Require), 1, "it is how many metrics must be anomalous at once")
	atLeast(r, child(path, "consecutive"), int64(p.Consecutive), 1, "it is how many bad verdicts in a row trigger a rollback")
	atLeast(r, child(path, "max_fallback"), int64(p.MaxFallback), 0, "it is how many versions back ripcord may go")
	notNegative(r, child(path, "cooldown"), p.Cooldown)
	notNegative(r, child(path, "bake"), p.Bake)
	positive(r, child(path, "verify"), p.Verify, "10s")
	positive(r, child(path, "blind_grace"), p.BlindGrace, "30s")
	if !(p.Alpha > 0 && p.Alpha <= 0.2) {
		r.add(child(path, "alpha"), "must be above 0 and at most 0.2, e.g. 0.01 (at most 1 false rollback in 100 healthy deploys), not %g", p.Alpha)
	}
	notNegative(r, child(path, "sustain"), p.Sustain)
	positive(r, child(path, "suspect_grace"), p.SuspectGrace, "30s")
	if p.Sustain > 0 && p.SuspectGrace > 0 && p.SuspectGrace <= p.Sustain {
		r.add(child(path, "suspect_grace"), "%s is not longer than sustain (%s): a \"not reverted\" incident would open for an anomaly sustain is about to revert; make it longer, e.g. %s",
			p.SuspectGrace, p.Sustain, max(30*time.Second, 2*p.Sustain))
	}
	if !(p.Confidence >= 0.5 && p.Confidence < 1) {
		r.add(child(path, "confidence"), "must be at least 0.5 and below 1, e.g. 0.99 (99%% sure a rate really exceeds its threshold), not %g", p.Confidence)
	}
	p.validateThresholds(r, child(path, "thresholds"))
}

func positive(r *report, path string, d time.Duration, example string) {
	if d <= 0 {
		r.add(path, "must be longer than 0, e.g. %s", example)
	}
}

func notNegative(r *report, path string, d time.Duration) {
	if d < 0 {
		r.add(path, "must not be negative (0 turns it off), not %s", d)
	}
}

func atLeast(r *report, path string, v, lo int64, why string) {
	if v < lo {
		r.add(path, "must be %d or more (%s), not %d", lo, why, v)
	}
}

func (p *Policy) validateThresholds(r *report, path string) {
	if len(p.Thresholds) == 0 {
		r.add(path, "is empty, so nothing could ever mark a version bad: list at least one metric, or remove the thresholds key to use the defaults")
		return
	}
	anomalies := 0
	for _, metric := range slices.Sorted(maps.Keys(p.Thresholds)) {
		t := p.Thresholds[metric]
		t.validate(r, child(path, metric), metric)
		if signal.IsKnown(metric) && (t.Max != nil || t.Min != nil || t.Baseline != nil) {
			anomalies++
		}
	}
	// With fewer max/min thresholds than require, the "K anomalies" rule can
	// never fire and only critical limits protect the service. That is
	// almost always a mistake, so say so; with none at all it is a
	// deliberate critical-only policy.
	if anomalies > 0 && p.Require > anomalies {
		r.add(strings.TrimSuffix(path, ".thresholds")+".require",
			"is %d but only %d threshold(s) set max, min or baseline, so anomalies alone can never mark a version bad: lower require or add thresholds", p.Require, anomalies)
	}
}

// LowerIsWorse reports whether falling values of metric are the bad direction
// under t. An explicit min or max decides; with only critical set the metric
// decides: quality_score is lower-is-worse, every other known metric is
// higher-is-worse. The detector uses it to read Critical as a lower or an
// upper bound.
func (t Threshold) LowerIsWorse(metric string) bool {
	switch {
	case t.Min != nil:
		return true
	case t.Max != nil:
		return false
	default:
		return metric == signal.QualityScore
	}
}

func (t Threshold) validate(r *report, path, metric string) {
	if !signal.IsKnown(metric) {
		r.add(path, "unknown metric %q%s; known metrics are %s", metric,
			didYouMean(metric, signal.Known), strings.Join(signal.Known, ", "))
		return
	}
	if t.Max == nil && t.Min == nil && t.Critical == nil && t.Baseline == nil {
		r.add(path, "sets no limit: give max (anomaly when above), min (anomaly when below), critical (alone marks the version bad) and/or baseline (compared with the previous version)")
		return
	}
	if b := t.Baseline; b != nil {
		b.validate(r, child(path, "baseline"))
	}
	if t.Max != nil && t.Min != nil {
		r.add(path, "sets both max and min: use max when higher is worse or min when lower is worse, not both")
	}
	for _, b := range []struct {
		name string
		v    *float64
	}{{"max", t.Max}, {"min", t.Min}, {"critical", t.Critical}} {
		if b.v != nil {
			checkRange(r, child(path, b.name), metric, *b.v)
		}
	}
	t.checkCritical(r, path, metric)
}

// checkCritical requires critical to be at least as bad as the anomaly limit:
// it is the level where one metric alone condemns a version.
func (t Threshold) checkCritical(r *report, path, metric string) {
	if t.Critical == nil {
		return
	}
	c := *t.Critical
	switch {
	case t.Max != nil && t.Min == nil && c < *t.Max:
		r.add(child(path, "critical"), "%g is below max (%g): critical must be at least max, since it marks the version bad on its own", c, *t.Max)
	case t.Min != nil && t.Max == nil && c > *t.Min:
		r.add(child(path, "critical"), "%g is above min (%g): for a lower-is-worse limit critical must be at most min, since it marks the version bad on its own", c, *t.Min)
	}
}

// checkRange keeps a limit within what the metric can take: shares and
// quality scores live in [0, 1]; latencies, throughput, CPU and memory are
// never negative.
func checkRange(r *report, path, metric string, v float64) {
	switch {
	case !finite(v):
		r.add(path, "must be a finite number")
	case metric == signal.QualityScore && (v < 0 || v > 1):
		r.add(path, "must be between 0 and 1 (quality scores run from 0, worst, to 1, best), not %g", v)
	case signal.KindOf(metric) == signal.KindRate && (v < 0 || v > 1):
		r.add(path, "must be between 0 and 1 (it is a share: 0.05 means 5%%), not %g", v)
	case v < 0:
		r.add(path, "must not be negative (%s), not %g", unitOf(metric), v)
	}
}

func unitOf(metric string) string {
	switch metric {
	case signal.LatencyP50, signal.LatencyP99:
		return "it is milliseconds"
	case signal.Throughput:
		return "it is requests per second"
	case signal.CPUUsage:
		return "it is cores in use"
	case signal.MemoryBytes:
		return "it is bytes"
	default:
		return fmt.Sprintf("%s is never negative", metric)
	}
}

func (b *Baseline) validate(r *report, path string) {
	if b.MaxIncrease == nil && b.MaxDelta == nil && b.Test == "" {
		r.add(path, "sets no comparison: give max_increase (relative, 0.2 = 20%% worse), max_delta (absolute) and/or test: mann_whitney")
	}
	if b.MaxIncrease != nil && *b.MaxIncrease < 0 {
		r.add(child(path, "max_increase"), "must be 0 or more (0.2 allows 20%% worse than the previous version)")
	}
	if b.MaxDelta != nil && *b.MaxDelta < 0 {
		r.add(child(path, "max_delta"), "must be 0 or more")
	}
	switch b.Test {
	case "", "mann_whitney":
	default:
		r.add(child(path, "test"), "must be mann_whitney (or left out), not %q", b.Test)
	}
	if b.Confidence == 0 {
		b.Confidence = 0.99
	}
	if b.Tolerance == 0 {
		b.Tolerance = 0.1
	}
	if b.Confidence < 0.5 || b.Confidence >= 1 {
		r.add(child(path, "confidence"), "must be at least 0.5 and below 1, e.g. 0.99")
	}
	if b.Tolerance < 0 {
		r.add(child(path, "tolerance"), "must be 0 or more (0.1 ignores differences under 10%%)")
	}
}
