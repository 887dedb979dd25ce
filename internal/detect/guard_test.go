package detect

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// defaultPolicy mirrors the shipped defaults: the seed's thresholds, two
// anomalies or one critical, sustain 15s, alpha 1%.
func defaultPolicy() Policy {
	return Policy{
		Require: 2, Alpha: 0.01, Sustain: 15 * time.Second, Confidence: 0.99, Consecutive: 2,
		Rules: []Rule{
			{Metric: signal.ErrorRate, Max: f(0.05), Critical: f(0.25)},
			{Metric: signal.LatencyP99, Max: f(3000), Critical: f(10000)},
			{Metric: signal.QualityScore, Min: f(0.75), Critical: f(0.5), LowerIsWorse: true},
			{Metric: signal.ToxicOutputRate, Max: f(0.01), Critical: f(0.05)},
		},
	}
}

// traffic simulates a version behind the switch at rate req/s: each
// request fails with probability errRate and takes lat.
type traffic struct {
	rng      *rand.Rand
	rate     float64
	errRate  float64
	lat      time.Duration
	reqs     int64
	errs     float64
	slow     map[float64]float64 // bound (ms) → requests counted above it
	inflight []time.Time         // start times of requests not yet answered
	started  time.Time
}

func newTraffic(seed uint64, rate, errRate float64, lat time.Duration, start time.Time) *traffic {
	return &traffic{rng: rand.New(rand.NewPCG(seed, seed+1)), rate: rate, errRate: errRate, lat: lat,
		slow: map[float64]float64{}, started: start}
}

// evidence is the switch's view at now for the guard's bounds: requests
// that completed, plus requests in flight past a bound (slow from the
// moment they passed it).
func (tr *traffic) evidence(g *Guard, now time.Time) map[string]Evidence {
	// Requests start every 1/rate; the ones started lat ago have completed.
	total := int64(now.Sub(tr.started).Seconds() * tr.rate)
	for tr.reqs+int64(len(tr.inflight)) < total {
		at := tr.started.Add(time.Duration(float64(tr.reqs+int64(len(tr.inflight))) / tr.rate * float64(time.Second)))
		tr.inflight = append(tr.inflight, at)
	}
	for len(tr.inflight) > 0 && now.Sub(tr.inflight[0]) >= tr.lat {
		tr.inflight = tr.inflight[1:]
		tr.reqs++
		if tr.rng.Float64() < tr.errRate {
			tr.errs++
		}
	}
	counts := map[float64]Count{}
	for _, b := range g.Bounds(signal.LatencyP99) {
		c := Count{N: tr.reqs}
		if float64(tr.lat.Milliseconds()) > b {
			c.Bad = float64(tr.reqs)
		}
		for _, at := range tr.inflight {
			if float64(now.Sub(at).Milliseconds()) > b {
				c.N++
				c.Bad++
			}
		}
		counts[b] = c
	}
	errRate, p99 := 0.0, 0.0 // the window's completed answers
	if tr.reqs > 0 {
		errRate, p99 = tr.errs/float64(tr.reqs), float64(tr.lat.Milliseconds())
	}
	return map[string]Evidence{
		signal.ErrorRate:  {Sample: signal.Sample{Value: errRate, Samples: tr.reqs, CountsSince: t0, Counts: map[float64]Count{0: {N: tr.reqs, Bad: tr.errs}}}},
		signal.LatencyP99: {Sample: signal.Sample{Value: p99, Samples: tr.reqs, CountsSince: tr.started, Counts: counts}},
	}
}

// watch runs a guard every step until it reports Degraded or for d, and
// returns the last result and when it came.
func watch(g *Guard, tr *traffic, step, d time.Duration) (Result, time.Duration) {
	var r Result
	for at := step; at <= d; at += step {
		r = g.Observe(tr.started.Add(at), tr.evidence(g, tr.started.Add(at)))
		if r.Verdict == Degraded {
			return r, at
		}
	}
	return r, d
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestGuardVerdicts(t *testing.T) {
	tests := []struct {
		name      string
		pol       func(*Policy)
		errRate   float64
		lat       time.Duration
		want      Verdict
		within    time.Duration // Degraded by then (want Degraded) or never within it
		reasonHas string
	}{
		{"50% errors: critical bound, at once", nil, 0.5, 5 * time.Millisecond, Degraded, time.Second, "error_rate"},
		{"11% errors: suspect, then reverted after sustain", nil, 0.11, 5 * time.Millisecond, Degraded, 20 * time.Second, "proven for"},
		{"11% errors with sustain 0: suspect forever, never reverted", func(p *Policy) { p.Sustain = 0 }, 0.11, 5 * time.Millisecond, Suspect, 60 * time.Second, "the policy needs 2 anomalous metrics or error_rate > 25.0%"},
		{"healthy but noisy: healthy", nil, 0.03, 20 * time.Millisecond, Healthy, 60 * time.Second, "healthy"},
		{"answers of 12s: critical latency while in flight", nil, 0, 12 * time.Second, Degraded, 10200 * time.Millisecond, "latency_p99_ms > critical 10000ms (3 of 3 requests slower than 10000ms)"},
		{"answers of 4s, require 1: switched before any completes", func(p *Policy) { p.Require = 1 }, 0, 4 * time.Second, Degraded, 3200 * time.Millisecond, "slower than 3000ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultPolicy()
			p.Rules = p.Rules[:2] // a switch measures errors and latency
			if tt.pol != nil {
				tt.pol(&p)
			}
			g := NewGuard(p, t0)
			tr := newTraffic(42, 200, tt.errRate, tt.lat, t0)
			r, at := watch(g, tr, 5*time.Millisecond, tt.within)
			if r.Verdict != tt.want {
				t.Fatalf("verdict %v after %v, want %v: %s", r.Verdict, at, tt.want, r.Reason)
			}
			if !strings.Contains(r.Reason, tt.reasonHas) {
				t.Fatalf("reason %q lacks %q", r.Reason, tt.reasonHas)
			}
			t.Logf("%v after %v: %s", r.Verdict, at, r.Reason)
		})
	}
}

func TestGuardBlindAndMissing(t *testing.T) {
	p := defaultPolicy()
	g := NewGuard(p, t0)
	ev := map[string]Evidence{
		signal.ErrorRate:    {Sample: signal.Sample{Value: 0, Samples: 500, CountsSince: t0, Counts: map[float64]Count{0: {N: 500}}}},
		signal.QualityScore: {Missing: true},
	}
	if r := g.Observe(t0, ev); r.Verdict != Blind || !strings.Contains(r.Reason, "quality_score no data") {
		t.Fatalf("got %v %q, want blind", r.Verdict, r.Reason)
	}
	ev[signal.ErrorRate] = Evidence{Sample: signal.Sample{Value: 0.9, Samples: 600, CountsSince: t0, Counts: map[float64]Count{0: {N: 600, Bad: 90}}}}
	if r := g.Observe(t0.Add(time.Second), ev); r.Verdict != Degraded {
		t.Fatalf("100 errors in 100 requests with a metric missing: %v %q, want degraded", r.Verdict, r.Reason)
	}
}

func TestGuardCounterReset(t *testing.T) {
	g := NewGuard(defaultPolicy(), t0)
	e := func(n int64, bad float64) map[string]Evidence {
		return map[string]Evidence{signal.ErrorRate: {Sample: signal.Sample{Samples: n, CountsSince: t0, Counts: map[float64]Count{0: {N: n, Bad: bad}}}}}
	}
	g.Observe(t0, e(10_000, 100))
	// The counter restarted: 40 requests, all failed, is new evidence, not
	// "-9,960 requests".
	r := g.Observe(t0.Add(time.Second), e(40, 40))
	if r.Verdict != Degraded {
		t.Fatalf("after a counter reset 40 of 40 failed: %v %q", r.Verdict, r.Reason)
	}
}

func TestGuardQualityScoreFromScores(t *testing.T) {
	p := defaultPolicy()
	p.Rules = []Rule{p.Rules[2]}
	g := NewGuard(p, t0)
	// 200 answers scored 0.3 on average: badness 0.7 each, past the
	// critical 0.5 (badness 0.5).
	r := g.Observe(t0, map[string]Evidence{signal.QualityScore: {Sample: signal.Sample{Value: 0.3, Samples: 200,
		CountsSince: t0, Counts: map[float64]Count{0: {N: 200, Bad: 200 * 0.7}}}}})
	if r.Verdict != Degraded || !strings.Contains(r.Reason, "quality_score 0.30 < critical 0.50") {
		t.Fatalf("quality 0.3: %v %q", r.Verdict, r.Reason)
	}
	g = NewGuard(p, t0)
	r = g.Observe(t0, map[string]Evidence{signal.QualityScore: {Sample: signal.Sample{Value: 0.92, Samples: 2000,
		CountsSince: t0, Counts: map[float64]Count{0: {N: 2000, Bad: 2000 * 0.08}}}}})
	if r.Verdict != Healthy {
		t.Fatalf("quality 0.92 over 2,000 answers: %v %q", r.Verdict, r.Reason)
	}
}

func TestGuardBaselineLatency(t *testing.T) {
	p := Policy{Require: 1, Alpha: 0.01, Rules: []Rule{{Metric: signal.LatencyP99, Max: f(3000), Baseline: &Baseline{MaxIncrease: f(0.2)}}}}
	g := NewGuard(p, t0)
	g.SetBaseline(signal.LatencyP99, 5) // the previous version's p99: 5ms
	bounds := g.Bounds(signal.LatencyP99)
	if len(bounds) != 2 || bounds[1] != 6 {
		t.Fatalf("bounds %v, want [3000 6]", bounds)
	}
	tr := newTraffic(1, 200, 0, 4*time.Second, t0)
	r, at := watch(g, tr, 5*time.Millisecond, 500*time.Millisecond)
	if r.Verdict != Degraded {
		t.Fatalf("4s answers against a 5ms baseline: %v after %v: %s", r.Verdict, at, r.Reason)
	}
	if !strings.Contains(r.Reason, "vs baseline 5ms") {
		t.Errorf("reason %q does not say the limit came from the baseline", r.Reason)
	}
	t.Logf("degraded after %v: %s", at, r.Reason)
}

func TestGuardWindowRuleConsecutive(t *testing.T) {
	p := Policy{Require: 1, Consecutive: 2, Rules: []Rule{{Metric: signal.MemoryBytes, Max: f(1e9)}}}
	g := NewGuard(p, t0)
	e := func(at time.Time) map[string]Evidence {
		return map[string]Evidence{signal.MemoryBytes: {Sample: signal.Sample{Value: 2e9, Samples: 100, At: at}}}
	}
	if r := g.Observe(t0, e(t0)); r.Verdict == Degraded {
		t.Fatalf("one window over the limit acted: %s", r.Reason)
	}
	if r := g.Observe(t0.Add(50*time.Millisecond), e(t0)); r.Verdict == Degraded {
		t.Fatalf("the same window judged twice acted: %s", r.Reason)
	}
	if r := g.Observe(t0.Add(time.Second), e(t0.Add(time.Second))); r.Verdict != Degraded {
		t.Fatalf("two fresh windows over the limit: %v %s", r.Verdict, r.Reason)
	}
}

func BenchmarkGuardObserve(b *testing.B) {
	p := defaultPolicy()
	p.Rules = p.Rules[:2]
	g := NewGuard(p, t0)
	var n int64
	b.ReportAllocs()
	for b.Loop() {
		n += 10
		g.Observe(t0, map[string]Evidence{
			signal.ErrorRate:  {Sample: signal.Sample{Value: 0.01, Samples: n, CountsSince: t0, Counts: map[float64]Count{0: {N: n, Bad: float64(n) / 100}}}},
			signal.LatencyP99: {Sample: signal.Sample{Value: 100, Samples: n, CountsSince: t0, Counts: map[float64]Count{3000: {N: n}, 10000: {N: n}}}},
		})
	}
}

// TestGuardCountersFromAnEarlierWatch: a version reverted to has counters
// from when it was live before; the first reading is a base, not evidence
// (its old failures are not this watch's), and what follows is judged.
func TestGuardCountersFromAnEarlierWatch(t *testing.T) {
	g := NewGuard(defaultPolicy(), t0)
	e := func(n int64, bad float64) map[string]Evidence {
		return map[string]Evidence{signal.ErrorRate: {Sample: signal.Sample{Samples: n,
			CountsSince: t0.Add(-time.Hour), Counts: map[float64]Count{0: {N: n, Bad: bad}}}}}
	}
	if r := g.Observe(t0, e(1000, 900)); r.Verdict == Degraded {
		t.Fatalf("an earlier watch's failures were judged as this one's: %s", r.Reason)
	}
	if r := g.Observe(t0.Add(time.Second), e(1100, 900)); r.Verdict == Degraded {
		t.Fatalf("100 healthy requests after the base: %v %s", r.Verdict, r.Reason)
	}
	if r := g.Observe(t0.Add(2*time.Second), e(1160, 960)); r.Verdict != Degraded {
		t.Fatalf("60 of 60 failed in this watch: %v %s", r.Verdict, r.Reason)
	}
}

// A result before any evidence was folded in (the first reading of
// counters that began before the watch is only a base) is still valid
// JSON: the API serves it while a deploy is watched, and a -Inf there made
// the status endpoint answer an empty 200.
func TestResultBeforeEvidenceEncodes(t *testing.T) {
	g := NewGuard(defaultPolicy(), t0)
	ev := map[string]Evidence{signal.ErrorRate: {Sample: signal.Sample{Samples: 500, CountsSince: t0.Add(-time.Hour),
		Counts: map[float64]Count{0: {N: 500, Bad: 1}}}}}
	r := g.Observe(t0.Add(50*time.Millisecond), ev)
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("result %+v: %v", r, err)
	}
}

// sustainRun feeds a guard under the default policy error_rate evidence at
// rate req/s in 50 ms steps, errRate(at) giving each step's share, and
// returns when it turned Degraded (-1: never within d).
func sustainRun(rate float64, d time.Duration, errRate func(at time.Duration) float64) time.Duration {
	g := NewGuard(defaultPolicy(), t0)
	var c Count
	const step = 50 * time.Millisecond
	per := int64(rate * step.Seconds())
	for at := step; at <= d; at += step {
		c.N += per
		c.Bad += math.Round(errRate(at) * float64(per))
		ev := map[string]Evidence{signal.ErrorRate: {Sample: signal.Sample{Samples: c.N, CountsSince: t0, Counts: map[float64]Count{0: c}}}}
		if g.Observe(t0.Add(at), ev).Verdict == Degraded {
			return at
		}
	}
	return -1
}

// Sustain acts on a fault that persists, not on a burst that is over: a
// 6 s burst of 15 % errors (three times the bound, below the critical one)
// at 5,000 req/s leaves the statistic high for seconds after it ends, and
// was reverted 12 s after it began; the same share for good is reverted
// once sustain has passed.
func TestSustainIgnoresAnEndedBurst(t *testing.T) {
	burst := func(at time.Duration) float64 {
		if at >= 10*time.Second && at < 16*time.Second {
			return 0.15
		}
		return 0.01
	}
	if at := sustainRun(5000, 2*time.Minute, burst); at >= 0 {
		t.Errorf("a 6 s burst that ended was reverted at %v", at)
	}
	twoBursts := func(at time.Duration) float64 {
		if (at >= 10*time.Second && at < 14*time.Second) || (at >= 19*time.Second && at < 23*time.Second) {
			return 0.15
		}
		return 0.01
	}
	if at := sustainRun(5000, 2*time.Minute, twoBursts); at >= 0 {
		t.Errorf("two 4 s bursts 5 s apart were reverted at %v", at)
	}
	persistent := func(at time.Duration) float64 {
		if at >= 10*time.Second {
			return 0.11
		}
		return 0.01
	}
	at := sustainRun(5000, 2*time.Minute, persistent)
	if at < 0 || at < 10*time.Second+defaultPolicy().Sustain {
		t.Errorf("11 %% errors from 10 s on: reverted at %v, want after the onset plus sustain", at)
	}
}

// TestGuardBoundWithoutCount: a reading that carries no count for a bound
// (a cached answer for a caller that asked for other bounds) is no reading
// of it — not a zero that the earlier watch's counters would then be
// measured from.
func TestGuardBoundWithoutCount(t *testing.T) {
	g := NewGuard(Policy{Require: 1, Alpha: 0.01, Rules: []Rule{{Metric: signal.LatencyP99, Max: f(3000)}}}, t0)
	e := func(c map[float64]Count) map[string]Evidence {
		return map[string]Evidence{signal.LatencyP99: {Sample: signal.Sample{Value: 20, Samples: 100,
			CountsSince: t0.Add(-time.Hour), Counts: c}}}
	}
	g.Observe(t0, e(map[float64]Count{}))
	if r := g.Observe(t0.Add(time.Second), e(map[float64]Count{3000: {N: 1000, Bad: 900}})); r.Verdict == Degraded {
		t.Fatalf("an earlier watch's slow requests were judged as this one's: %s", r.Reason)
	}
	if r := g.Observe(t0.Add(2*time.Second), e(map[float64]Count{3000: {N: 1060, Bad: 960}})); r.Verdict != Degraded {
		t.Fatalf("60 of 60 slow in this watch: %v %s", r.Verdict, r.Reason)
	}
}

// A metric whose counts have no observation yet (a version whose answers
// are all still waiting: error_rate has N = 0 while latency is already
// judged in flight) gives a verdict that still encodes as JSON: the
// statistic of an empty test is log 0.
func TestGuardVerdictWithEmptyCountsEncodes(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	g := NewGuard(Policy{Require: 1, Alpha: 0.01, Rules: []Rule{
		{Metric: signal.ErrorRate, Max: f(0.05), Critical: f(0.25)},
		{Metric: signal.LatencyP99, Max: f(3000), Critical: f(10000)},
	}}, start)
	ev := map[string]Evidence{
		signal.ErrorRate:  {Sample: signal.Sample{Counts: map[float64]signal.Count{0: {}}, CountsSince: start}},
		signal.LatencyP99: {Sample: signal.Sample{Counts: map[float64]signal.Count{3000: {N: 9, Bad: 9}, 10000: {}}, CountsSince: start}},
	}
	r := g.Observe(start.Add(3100*time.Millisecond), ev)
	if r.Verdict != Degraded {
		t.Fatalf("verdict %v (%s), want degraded on 9 of 9 requests past 3 s", r.Verdict, r.Reason)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("the verdict does not encode: %v", err)
	}
}
