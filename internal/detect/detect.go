package detect

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Verdict is the judgement on one version at one moment.
type Verdict int

const (
	Inconclusive Verdict = iota
	Healthy
	Degraded
	Blind
	// Suspect: some metric is anomalous, but fewer than Require and none
	// past its critical bound. Never shown as healthy; the controller opens
	// an incident saying why nothing was reverted if it lasts.
	Suspect
)

// Verdicts lists every verdict, for expositions that show each one.
var Verdicts = []Verdict{Healthy, Suspect, Degraded, Inconclusive, Blind}

func (v Verdict) String() string {
	switch v {
	case Healthy:
		return "healthy"
	case Degraded:
		return "degraded"
	case Blind:
		return "blind"
	case Suspect:
		return "suspect"
	default:
		return "inconclusive"
	}
}

// Rule bounds one metric. Max and Min mark an anomaly; Critical alone is
// enough to call the version bad. LowerIsWorse flips Critical into a lower
// bound (quality score).
type Rule struct {
	Metric       string
	Max, Min     *float64
	Critical     *float64
	LowerIsWorse bool
	Baseline     *Baseline // nil: fixed limits only
}

// Policy is the part of a service policy detection needs.
type Policy struct {
	Rules []Rule
	// MinSamples is a floor: no metric is called anomalous on fewer
	// observations. Sequential tests need no floor to be safe; a user may
	// still set one.
	MinSamples int64
	Require    int
	// Alpha is the false-rollback budget of one watch (deploy): the chance
	// that a healthy version is ever reverted by the sequential tests,
	// however long it is watched. Default DefaultAlpha.
	Alpha float64
	// Beta is the level at which a version is shown healthy (the chance of
	// calling a version at twice a bound healthy). Default DefaultBeta.
	Beta float64
	// Sustain: one anomalous metric proven at a far stricter level than
	// the K-of-N rule needs, continuously for this long, counts as
	// critical. 0 restores the pure K-of-N rule.
	Sustain time.Duration
	// Confidence for rate metrics judged by the fixed-window rule (sources
	// without counts), e.g. 0.99. Zero means plain comparison.
	Confidence float64
	// Consecutive is how many fresh windows in a row a fixed-window
	// anomaly must be seen on before it counts.
	Consecutive int
	// WindowMinSamples is the floor of the fixed-window rule, which unlike
	// the sequential tests needs one to be safe (a window of 3 requests
	// proves nothing healthy); 0 means DefaultWindowMinSamples.
	WindowMinSamples int64
}

// DefaultWindowMinSamples is the fixed-window rule's floor when the policy
// sets none.
const DefaultWindowMinSamples = 50

// Observation is what a source returned for one metric. Missing means the
// source answered signal.ErrNoData for a metric that is expected to report.
type Observation struct {
	Sample  signal.Sample
	Missing bool
	// Baseline is the previous version's value of the metric, for rules
	// with a Baseline; nil when there is no previous version.
	Baseline *signal.Sample
	// Series and BaselineSeries are per-interval values of both versions,
	// for the Mann-Whitney comparison.
	Series, BaselineSeries []float64
}

// Finding is the judgement on one metric, with its numbers.
type Finding struct {
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Samples   int64   `json:"samples"`
	Limit     float64 `json:"limit,omitempty"`
	Anomalous bool    `json:"anomalous"`
	Critical  bool    `json:"critical"`
	Missing   bool    `json:"missing,omitempty"`
	TooFew    bool    `json:"too_few,omitempty"`
	Text      string  `json:"text"`
	// Sequential evidence: the observations since the statistic last had
	// nothing to say (roughly since a fault began) and the bad ones among
	// them, and the log of the test statistic (the evidence, in nats).
	Seen     int64   `json:"seen,omitempty"`
	Bad      float64 `json:"bad,omitempty"`
	Evidence float64 `json:"evidence,omitempty"`
	// Sustained is how long a single anomaly has been proven when that made
	// it critical.
	Sustained time.Duration `json:"sustained,omitempty"`
}

// Result is a verdict with the findings that produced it.
type Result struct {
	Verdict   Verdict   `json:"-"`
	Findings  []Finding `json:"findings"`
	Anomalies int       `json:"anomalies"`
	Criticals int       `json:"criticals"`
	// Samples is the largest sample count behind any finding; the controller
	// uses it to tell a fresh verdict from a repeat of the last one.
	Samples int64  `json:"samples"`
	Reason  string `json:"reason"`
}

// Evaluate judges one version. obs holds an entry per metric that should be
// judged; rules whose metric has no entry are skipped (not configured for
// this service).
func Evaluate(p Policy, obs map[string]Observation) Result {
	var r Result
	missing, tooFew := 0, 0
	for _, rule := range p.Rules {
		o, ok := obs[rule.Metric]
		if !ok {
			continue
		}
		f := judge(p, rule, o)
		switch {
		case f.Missing:
			missing++
		case f.TooFew:
			tooFew++
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
	require := max(p.Require, 1)
	switch {
	case r.Criticals > 0 || r.Anomalies >= require:
		r.Verdict = Degraded
	case r.Anomalies > 0:
		r.Verdict = Suspect
	case missing > 0:
		r.Verdict = Blind
	case tooFew > 0 || len(r.Findings) == 0:
		r.Verdict = Inconclusive
	default:
		r.Verdict = Healthy
	}
	r.Reason = reason(r, require)
	return r
}

// judge applies one rule to one observation.
func judge(p Policy, rule Rule, o Observation) Finding {
	f := Finding{Metric: rule.Metric, Value: o.Sample.Value, Samples: o.Sample.Samples}
	if o.Missing {
		f.Missing = true
		f.Text = rule.Metric + " no data"
		return f
	}
	if o.Sample.Samples < p.MinSamples {
		f.TooFew = true
		f.Text = fmt.Sprintf("%s %s (only %s samples, need %s)", rule.Metric,
			formatValue(rule.Metric, f.Value), groupDigits(f.Samples), groupDigits(p.MinSamples))
		return f
	}
	lo, hi := bounds(p, rule.Metric, o.Sample)
	// Critical first: it names the stronger fact.
	if c := rule.Critical; c != nil {
		if rule.LowerIsWorse && hi < *c || !rule.LowerIsWorse && lo > *c {
			f.Anomalous, f.Critical, f.Limit = true, true, *c
		}
	}
	if !f.Critical {
		if m := rule.Max; m != nil && lo > *m {
			f.Anomalous, f.Limit = true, *m
		}
		if m := rule.Min; m != nil && hi < *m {
			f.Anomalous, f.Limit = true, *m
		}
	}
	f.Text = describe(rule, f, o.Sample)
	if rule.Baseline != nil && !f.Anomalous {
		anomalous, text, tooFew := judgeBaseline(p, rule, o)
		switch {
		case anomalous:
			f.Anomalous, f.Text = true, text
		case tooFew && rule.Max == nil && rule.Min == nil && rule.Critical == nil:
			f.TooFew, f.Text = true, text // nothing else judges this metric
		}
	}
	return f
}

// bounds returns the interval the true value lies in at the policy's
// confidence. Only rates have one; other metrics are taken at face value.
func bounds(p Policy, metric string, s signal.Sample) (lo, hi float64) {
	if signal.KindOf(metric) != signal.KindRate || p.Confidence <= 0 || s.Samples <= 0 {
		return s.Value, s.Value
	}
	return Wilson(s.Value, s.Samples, p.Confidence)
}

// Wilson returns the one-sided Wilson score bounds of a proportion p observed
// over n trials at the given confidence (e.g. 0.99).
func Wilson(p float64, n int64, confidence float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	z := normalQuantile(confidence)
	nf := float64(n)
	z2 := z * z
	centre := p + z2/(2*nf)
	spread := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	den := 1 + z2/nf
	return math.Max(0, (centre-spread)/den), math.Min(1, (centre+spread)/den)
}

// normalQuantile is the inverse standard normal CDF (Acklam's rational
// approximation, relative error < 1.2e-9), enough for confidence levels.
func normalQuantile(p float64) float64 {
	if p <= 0 || p >= 1 {
		return 0
	}
	a := [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	const plow = 0.02425
	switch {
	case p < plow:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-plow:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	default:
		q := p - 0.5
		r := q * q
		return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
	}
}

func describe(rule Rule, f Finding, s signal.Sample) string {
	val := formatValue(rule.Metric, f.Value)
	ctx := fmt.Sprintf("(%s samples", groupDigits(s.Samples))
	if signal.KindOf(rule.Metric) != signal.KindGauge {
		ctx = fmt.Sprintf("(%s requests", groupDigits(s.Samples))
	}
	if s.Window > 0 {
		ctx += ", window " + s.Window.Round(100*time.Millisecond).String()
	}
	ctx += ")"
	if !f.Anomalous {
		return fmt.Sprintf("%s %s ok %s", rule.Metric, val, ctx)
	}
	op, tag := ">", ""
	if rule.LowerIsWorse && f.Critical || rule.Min != nil && !f.Critical {
		op = "<"
	}
	if f.Critical {
		tag = " critical"
	}
	return fmt.Sprintf("%s %s %s%s %s %s", rule.Metric, val, op, tag, formatValue(rule.Metric, f.Limit), ctx)
}

func reason(r Result, require int) string {
	var parts []string
	for _, f := range r.Findings {
		if f.Anomalous || f.Missing {
			parts = append(parts, f.Text)
		}
	}
	switch r.Verdict {
	case Degraded:
		return strings.Join(parts, "; ")
	case Suspect:
		return fmt.Sprintf("suspect: %d of %d anomalies needed: %s", r.Anomalies, require, strings.Join(parts, "; "))
	case Blind:
		return "flying blind: " + strings.Join(parts, "; ")
	case Inconclusive:
		for _, f := range r.Findings {
			if f.TooFew {
				return "inconclusive: " + f.Text
			}
		}
		return "inconclusive: no metrics to judge"
	}
	return "healthy"
}

// formatValue prints a metric the way a person reads it: rates as percent,
// latencies in ms, everything else with two decimals.
func formatValue(metric string, v float64) string {
	switch signal.KindOf(metric) {
	case signal.KindRate:
		return fmt.Sprintf("%.1f%%", v*100)
	case signal.KindQuantile:
		return fmt.Sprintf("%.0fms", v)
	}
	if metric == signal.Throughput {
		return fmt.Sprintf("%.1f req/s", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// groupDigits writes 2113 as "2,113".
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
