package detect

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Default levels when a Policy leaves them zero.
const (
	DefaultAlpha = 0.01
	DefaultBeta  = 0.01
)

// levels are the false-alarm levels of one guard's tests: the policy's
// Alpha split so that the chance of any false rollback over the whole
// watch is at most Alpha.
//
// With require = 1 every anomaly test can revert alone, so Alpha is split
// evenly between them (a critical bound is implied by the anomaly limit
// below it). With require ≥ 2 three things can revert: a critical test
// (half of Alpha between them), `require` anomaly tests at once (by
// Markov's inequality P(at least require of m false alarms) ≤ m·a/require,
// so each gets 0.4·Alpha·require/m), and one anomaly proven at the far
// stricter sustain level (0.1·Alpha between them).
type levels struct {
	anomaly, critical, sustain float64
	criticalImplied            bool // require 1: criticals are not tested separately
}

func (g *Guard) computeLevels(ev map[string]Evidence) *levels {
	alpha, require := g.p.Alpha, max(g.p.Require, 1)
	if alpha <= 0 {
		alpha = DefaultAlpha
	}
	anom, crit := 0, 0
	for _, r := range g.p.Rules {
		e, ok := ev[r.Metric]
		mt := g.test(r.Metric)
		if !ok || !sequential(r, e) {
			continue
		}
		if mt.anomaly != nil || r.Baseline != nil {
			anom++
		}
		if mt.critical != nil && (require > 1 || mt.anomaly == nil) {
			crit++
		}
	}
	if require == 1 {
		a := alpha / float64(max(anom+crit, 1))
		return &levels{anomaly: a, critical: a, sustain: a, criticalImplied: true}
	}
	return &levels{
		anomaly:  min(alpha, 0.4*alpha*float64(require)/float64(max(anom, 1))),
		critical: 0.5 * alpha / float64(max(crit, 1)),
		sustain:  0.1 * alpha / float64(max(anom, 1)),
	}
}

// Observe folds the evidence that arrived since the last call into the
// tests and returns the verdict now. ev holds an entry per metric that
// should be judged; rules whose metric has no entry are skipped (not
// configured for this service).
func (g *Guard) Observe(now time.Time, ev map[string]Evidence) Result {
	if g.levels == nil {
		g.levels = g.computeLevels(ev)
	}
	var r Result
	var missing, undecided int
	for _, rule := range g.p.Rules {
		e, ok := ev[rule.Metric]
		if !ok {
			continue
		}
		var f Finding
		switch mt := g.test(rule.Metric); {
		case e.Missing:
			f = Finding{Metric: rule.Metric, Missing: true, Text: rule.Metric + " no data"}
		case sequential(rule, e) && mt.hasTests():
			f = g.judgeSequential(now, rule, mt, e)
		default:
			f = g.judgeWindow(rule, e)
		}
		switch {
		case f.Missing:
			missing++
		case f.TooFew:
			undecided++
		}
		if f.Anomalous {
			r.Anomalies++
		}
		if f.Critical {
			r.Criticals++
		}
		r.Samples = max(r.Samples, f.Samples)
		r.Findings = append(r.Findings, f)
	}
	require := max(g.p.Require, 1)
	switch {
	case r.Criticals > 0 || r.Anomalies >= require:
		r.Verdict = Degraded
	case r.Anomalies > 0:
		r.Verdict = Suspect
	case missing > 0:
		r.Verdict = Blind
	case undecided > 0 || len(r.Findings) == 0:
		r.Verdict = Inconclusive
	default:
		r.Verdict = Healthy
	}
	r.Reason = reason(r, require)
	if r.Verdict == Suspect {
		r.Reason += "; " + g.whyNotReverted(r, require)
	}
	return r
}

func (mt *metricTests) hasTests() bool {
	return mt != nil && (mt.anomaly != nil || mt.critical != nil || mt.baseline != nil)
}

// judgeSequential folds e into the metric's tests and reads them.
func (g *Guard) judgeSequential(now time.Time, rule Rule, mt *metricTests, e Evidence) Finding {
	lv := g.levels
	f := Finding{Metric: rule.Metric, Value: e.Sample.Value, Samples: e.Sample.Samples}
	var proof *seqTest // the test whose numbers the finding shows
	for _, t := range []*seqTest{mt.anomaly, mt.critical, mt.baseline} {
		if t == nil {
			continue
		}
		// A reading without this bound's count says nothing about it: taken
		// as zero it would become the base, and the first real count —
		// perhaps an earlier watch's — would be folded in as evidence.
		if c, ok := e.Sample.Counts[t.bound.key]; ok {
			t.fold(c, e.Sample.CountsSince, g.start)
		}
	}
	enough := func(t *seqTest) bool { return t != nil && t.t.N >= g.p.MinSamples }
	if t := mt.critical; enough(t) && !(lv.criticalImplied && mt.anomaly != nil) && t.t.Alarm(lv.critical) {
		f.Anomalous, f.Critical, f.Limit, proof = true, true, t.bound.limit, t
	}
	for _, t := range []*seqTest{mt.anomaly, mt.baseline} {
		if !f.Anomalous && enough(t) && t.t.Alarm(lv.anomaly) {
			f.Anomalous, f.Limit, proof = true, t.bound.limit, t
		}
	}
	// Sustain: one anomaly, proven at the strict level for long enough,
	// acts as a critical one. The marks persists reads are kept from the
	// moment it is proven: only the last sustain of a proof that has
	// lasted sustain is ever read, and a healthy version keeps none.
	sustained := enough(mt.anomaly) && mt.anomaly.t.Alarm(lv.sustain)
	if t := mt.anomaly; t != nil && g.p.Sustain > 0 && sustained {
		mt.remember(now, t.last, g.p.Sustain)
	}
	if t := mt.anomaly; sustained {
		if mt.provenSince.IsZero() {
			mt.provenSince = now
		}
		if s := g.p.Sustain; s > 0 && !f.Critical && now.Sub(mt.provenSince) >= s && mt.persists(g.p.Sustain, t.bound.share) {
			f.Anomalous, f.Critical, f.Sustained, f.Limit, proof = true, true, now.Sub(mt.provenSince), t.bound.limit, t
		}
	} else {
		mt.provenSince, mt.marks = time.Time{}, nil
	}
	if proof == nil {
		proof = firstTest(mt.anomaly, mt.baseline, mt.critical)
		f.TooFew = !proof.t.Accepted(g.beta())
	}
	f.Seen, f.Bad = proof.recent.N, proof.recent.Bad
	if e := proof.t.LogE(); !math.IsInf(e, 0) && !math.IsNaN(e) {
		// Before any observation the statistic is log 0 = -Inf, which no
		// JSON can hold, and the verdict goes into incidents and the API
		// (a switch's counts for a version whose answers are all still
		// waiting are zero).
		f.Evidence = e
	}
	f.Text = describeSequential(rule, f, e.Sample, proof)
	if f.Anomalous && proof == mt.baseline {
		// Say what the limit came from: a person reads "vs baseline", not
		// a bare number no config shows.
		f.Text += fmt.Sprintf(" vs baseline %s", formatValue(rule.Metric, mt.base))
	}
	return f
}

func firstTest(ts ...*seqTest) *seqTest {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

func (g *Guard) beta() float64 {
	if g.p.Beta > 0 {
		return g.p.Beta
	}
	return DefaultBeta
}

// judgeWindow applies the fixed-window rule, with the "consecutive" count:
// a window-rule anomaly counts once it was seen on that many fresh windows
// in a row.
func (g *Guard) judgeWindow(rule Rule, e Evidence) Finding {
	wp := g.p
	wp.MinSamples = max(g.p.MinSamples, cmp.Or(g.p.WindowMinSamples, DefaultWindowMinSamples))
	f := judge(wp, rule, Observation{Sample: e.Sample, Baseline: e.Baseline, Series: e.Series, BaselineSeries: e.BaselineSeries})
	ws := g.windows[rule.Metric]
	if !f.Anomalous {
		delete(g.windows, rule.Metric)
		return f
	}
	if ws == nil {
		ws = &windowStreak{}
		if g.windows == nil {
			g.windows = map[string]*windowStreak{}
		}
		g.windows[rule.Metric] = ws
	}
	if ws.bad == 0 || e.Sample.Samples != ws.last.Samples || !e.Sample.At.Equal(ws.last.At) {
		ws.bad++ // a fresh window: re-judging the same one is not new evidence
		ws.last = e.Sample
	}
	if need := max(g.p.Consecutive, 1); ws.bad < need {
		f.Anomalous, f.Critical, f.TooFew = false, false, true
		f.Text += fmt.Sprintf(" (seen on %d of %d windows in a row)", ws.bad, need)
	}
	return f
}

// windowStreak counts fresh anomalous windows of one fixed-window metric.
type windowStreak struct {
	bad  int
	last signal.Sample
}

// describeSequential says what the tests show, in numbers a person reads:
// the window's value as before, and for an anomaly the evidence that
// proves it (the requests since it began and the bad ones among them).
func describeSequential(rule Rule, f Finding, s signal.Sample, t *seqTest) string {
	m := rule.Metric
	var ctx []string
	if s.Samples > 0 {
		c := groupDigits(s.Samples) + " requests"
		if s.Window > 0 {
			c += ", window " + s.Window.Round(100*time.Millisecond).String()
		}
		ctx = append(ctx, c)
	}
	head := m + " " + formatValue(m, f.Value)
	if signal.KindOf(m) == signal.KindQuantile && f.Anomalous && (s.Samples == 0 || f.Value < f.Limit) {
		head = m // the slow requests are still waiting: completed answers understate it
	}
	if !f.Anomalous {
		state := "ok"
		if f.TooFew {
			state = "not yet shown healthy"
		}
		return strings.TrimSpace(fmt.Sprintf("%s %s %s", head, state, paren(ctx)))
	}
	op, tag := ">", ""
	if rule.LowerIsWorse {
		op = "<"
	}
	if f.Critical && f.Sustained == 0 {
		tag = " critical"
	}
	bad, seen := groupDigits(int64(math.Round(f.Bad))), groupDigits(f.Seen)
	switch signal.KindOf(m) {
	case signal.KindQuantile:
		ctx = append(ctx, fmt.Sprintf("%s of %s requests slower than %s", bad, seen, formatValue(m, t.bound.limit)))
	case signal.KindRate:
		ctx = append(ctx, fmt.Sprintf("%s of %s failed since it began", bad, seen))
	}
	if f.Sustained > 0 {
		ctx = append(ctx, "proven for "+f.Sustained.Round(time.Second).String())
	}
	return fmt.Sprintf("%s %s%s %s %s", head, op, tag, formatValue(m, f.Limit), paren(ctx))
}

func paren(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, "; ") + ")"
}

// whyNotReverted completes a Suspect reason: what the policy would need.
func (g *Guard) whyNotReverted(r Result, require int) string {
	var crit []string
	for _, f := range r.Findings {
		if !f.Anomalous {
			continue
		}
		for _, rule := range g.p.Rules {
			if rule.Metric == f.Metric && rule.Critical != nil {
				op := ">"
				if rule.LowerIsWorse {
					op = "<"
				}
				crit = append(crit, fmt.Sprintf("%s %s %s", f.Metric, op, formatValue(f.Metric, *rule.Critical)))
			}
		}
	}
	s := fmt.Sprintf("the policy needs %d anomalous metrics", require)
	if len(crit) > 0 {
		s += " or " + strings.Join(crit, " or ")
	}
	if g.p.Sustain > 0 {
		s += fmt.Sprintf(", or one anomaly proven for %s", g.p.Sustain)
	}
	return s
}
