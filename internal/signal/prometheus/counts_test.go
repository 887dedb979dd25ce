package prometheus

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
)

const (
	totalTpl = `http_requests_total{version="{{.Version}}"}`
	badTpl   = `http_requests_total{version="{{.Version}}",code=~"5.."}`
	histTpl  = `http_request_duration_seconds_bucket{version="{{.Version}}"}`
)

// ratesQuery is what a counts-mode error_rate Read of v2 sends.
var ratesQuery = "label_replace(\nhttp_requests_total{version=\"v2\"}\n, \"ripcord_part\", \"total\", \"__name__\", \".*\") or " +
	"label_replace(\nhttp_requests_total{version=\"v2\",code=~\"5..\"}\n, \"ripcord_part\", \"bad\", \"__name__\", \".*\")"

const histQuery = `http_request_duration_seconds_bucket{version="v2"}`

func countsSource(t *testing.T, f *fakeProm) *Source {
	t.Helper()
	return newSource(t, f, func(c *Config) {
		c.Queries, c.Samples = nil, ""
		c.Counts = map[string]Counter{
			signal.ErrorRate:  {Total: totalTpl, Bad: badTpl},
			signal.LatencyP99: {Histogram: histTpl},
		}
	})
}

// series is one series of a fake answer: its labels and value.
type series struct {
	labels map[string]string
	v      float64
}

func ser(v float64, kv ...string) series {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return series{l, v}
}

func seriesJSON(ss ...series) string {
	type elem struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	res := []elem{}
	for _, s := range ss {
		res = append(res, elem{s.labels, [2]any{1700000000.0, formatFloat(s.v)}})
	}
	b, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": res}})
	return string(b)
}

func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// rates answers the rates query with per-pod total and bad counters.
func rates(f *fakeProm, ss ...series) { f.on(ratesQuery, ok(seriesJSON(ss...))) }

func tot(pod string, v float64) series { return ser(v, "pod", pod, partLabel, "total") }
func bad(pod string, v float64) series { return ser(v, "pod", pod, "code", "500", partLabel, "bad") }

// reader reads one metric of v2 at successive moments, a second apart.
type reader struct {
	t   *testing.T
	s   *Source
	at  time.Time
	met string
	bnd []float64
}

func (r *reader) next() (signal.Sample, error) {
	r.t.Helper()
	r.at = r.at.Add(time.Second)
	return r.s.Read(background(), signal.Query{Service: "checkout", Version: "v2", Metric: r.met,
		Since: r.at.Add(-10 * time.Second), At: r.at, Bounds: r.bnd})
}

func (r *reader) counts(want signal.Count) signal.Sample {
	r.t.Helper()
	smp, err := r.next()
	if err != nil {
		r.t.Fatalf("at +%s: %v", r.at.Sub(at), err)
	}
	if got := smp.Counts[0]; got != want {
		r.t.Fatalf("at +%s: counts %+v, want %+v", r.at.Sub(at), got, want)
	}
	return smp
}

func TestCountsRead(t *testing.T) {
	f := newFakeProm(t)
	s := countsSource(t, f)
	r := &reader{t: t, s: s, at: at, met: signal.ErrorRate}
	// The first read is the base: the counters hold requests from before
	// ripcord looked, and there is no window yet.
	rates(f, tot("a", 5000), bad("a", 20))
	if _, err := r.next(); !errors.Is(err, signal.ErrNoData) {
		t.Fatalf("first read: %v, want no data (a base only)", err)
	}
	base := r.at
	rates(f, tot("a", 5100), bad("a", 50))
	smp := r.counts(signal.Count{N: 100, Bad: 30})
	if smp.Value != 0.3 || smp.Samples != 100 || !smp.CountsSince.Equal(base) || !smp.At.Equal(r.at) {
		t.Errorf("sample %+v: want value 0.3 over 100 requests, counts since the first read %s", smp, base)
	}
	// A scrape that adds nothing adds no evidence.
	r.counts(signal.Count{N: 100, Bad: 30})
	rates(f, tot("a", 5300), bad("a", 50))
	smp = r.counts(signal.Count{N: 300, Bad: 30})
	if smp.Samples != 300 || math.Abs(smp.Value-0.1) > 1e-9 {
		t.Errorf("window value %v over %d, want 10%% over 300", smp.Value, smp.Samples)
	}
	q := f.requests()[len(f.requests())-1]
	if q.query != ratesQuery || q.time != "1700000004.5" {
		t.Errorf("one instant query at q.At, got %+v", q)
	}
}

func TestCountsResetsNeverCountTwice(t *testing.T) {
	f := newFakeProm(t)
	s := countsSource(t, f)
	r := &reader{t: t, s: s, at: at, met: signal.ErrorRate}
	rates(f, tot("a", 1000), tot("b", 1000), bad("a", 10))
	_, _ = r.next()
	rates(f, tot("a", 1100), tot("b", 1100), bad("a", 10))
	r.counts(signal.Count{N: 200, Bad: 0})
	// Pod a restarts: its counter goes down. The read is a new base —
	// nothing added, never a negative increment.
	rates(f, tot("a", 40), tot("b", 1200), bad("a", 10))
	r.counts(signal.Count{N: 200, Bad: 0})
	// ... and its first 5xx series after the restart appears (a series not
	// seen before adds its whole value).
	rates(f, tot("a", 90), tot("b", 1300), bad("a", 10), ser(7, "pod", "a", "code", "503", partLabel, "bad"))
	r.counts(signal.Count{N: 350, Bad: 7})
	// Pod b is replaced by pod c: b vanishes, c is new and counts in full.
	rates(f, tot("a", 190), tot("c", 30), bad("a", 10), ser(7, "pod", "a", "code", "503", partLabel, "bad"))
	r.counts(signal.Count{N: 480, Bad: 7})
	// Prometheus lost pod a for a while and has it back: only what it
	// gained meanwhile counts, not its whole value again.
	rates(f, tot("c", 60))
	r.counts(signal.Count{N: 510, Bad: 7})
	rates(f, tot("a", 290), tot("c", 60), bad("a", 10), ser(7, "pod", "a", "code", "503", partLabel, "bad"))
	r.counts(signal.Count{N: 610, Bad: 7})
}

// A template that sums sees a pod's restart as a dip of the sum: a new
// base as well.
func TestCountsSumDipIsANewBase(t *testing.T) {
	f := newFakeProm(t)
	s := countsSource(t, f)
	r := &reader{t: t, s: s, at: at, met: signal.ErrorRate}
	sum := func(total, bad float64) { rates(f, ser(total, partLabel, "total"), ser(bad, partLabel, "bad")) }
	sum(1000, 10)
	_, _ = r.next()
	sum(1100, 20)
	r.counts(signal.Count{N: 100, Bad: 10})
	sum(900, 25) // the total dipped, bad did not: still one state, a new base
	r.counts(signal.Count{N: 100, Bad: 10})
	sum(1000, 25)
	r.counts(signal.Count{N: 200, Bad: 10})
}

func TestCountsSameMomentAndEarlierMoments(t *testing.T) {
	f := newFakeProm(t)
	s := countsSource(t, f)
	rates(f, tot("a", 1000), bad("a", 0))
	read := func(at time.Time, since time.Duration) (signal.Sample, error) {
		return s.Read(background(), signal.Query{Service: "checkout", Version: "v2", Metric: signal.ErrorRate,
			Since: at.Add(-since), At: at})
	}
	t0 := at
	_, _ = read(t0, 10*time.Second)
	rates(f, tot("a", 1100), bad("a", 10))
	t1 := t0.Add(time.Second)
	a, err := read(t1, 10*time.Second)
	if err != nil || a.Counts[0] != (signal.Count{N: 100, Bad: 10}) {
		t.Fatalf("read at t1: %+v %v", a, err)
	}
	n := len(f.requests())
	// The same moment again (another caller, the per-second recorder):
	// the same cumulative counts, no query.
	b, err := read(t1, time.Second)
	if err != nil || b.Counts[0] != a.Counts[0] || len(f.requests()) != n {
		t.Errorf("same moment: %+v %v, %d queries (want none)", b, err, len(f.requests())-n)
	}
	rates(f, tot("a", 1300), bad("a", 10))
	t2 := t1.Add(time.Second)
	if c, err := read(t2, 10*time.Second); err != nil || c.Counts[0] != (signal.Count{N: 300, Bad: 10}) {
		t.Fatalf("read at t2: %+v %v", c, err)
	}
	// An earlier moment (the previous version's baseline, read at the
	// moment the new one went live) is answered from the history: the
	// window [t0, t1] held 100 requests, 10 failed.
	n = len(f.requests())
	e, err := read(t1, time.Second)
	if err != nil || e.Samples != 100 || e.Value != 0.1 || e.Counts[0] != a.Counts[0] || len(f.requests()) != n {
		t.Errorf("earlier moment: %+v %v, %d queries", e, err, len(f.requests())-n)
	}
	if _, err := read(t0.Add(-time.Hour), time.Second); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("before the first read: %v, want no data", err)
	}
}

func TestCountsHistogramBounds(t *testing.T) {
	f := newFakeProm(t)
	s := countsSource(t, f)
	r := &reader{t: t, s: s, at: at, met: signal.LatencyP99, bnd: []float64{300, 1000, 5000}}
	hist := func(b01, b05, b1, inf float64) {
		f.on(histQuery, ok(seriesJSON(ser(b01, "le", "0.1"), ser(b05, "le", "0.5"), ser(b1, "le", "1"), ser(inf, "le", "+Inf"))))
	}
	hist(900, 950, 990, 1000)
	if _, err := r.next(); !errors.Is(err, signal.ErrNoData) {
		t.Fatalf("first read: %v, want a base only", err)
	}
	// 100 more requests: 50 under 100ms, 20 in (100ms, 500ms], 20 in
	// (500ms, 1s], 10 above 1s.
	hist(950, 1020, 1080, 1100)
	smp, err := r.next()
	if err != nil {
		t.Fatal(err)
	}
	// 300 ms: the smallest bucket at or above it is 500 ms, so requests
	// above 500 ms are counted slow (those between 300 and 500 ms cannot
	// be told apart and count as fast).
	want := map[float64]signal.Count{300: {N: 100, Bad: 30}, 1000: {N: 100, Bad: 10}, 5000: {N: 100, Bad: 0}}
	for b, w := range want {
		if smp.Counts[b] != w {
			t.Errorf("bound %vms: %+v, want %+v", b, smp.Counts[b], w)
		}
	}
	// p99 of the window: rank 99 of 100 falls in the +Inf bucket, whose
	// value is the largest finite bound, 1 s.
	if smp.Value != 1000 || smp.Samples != 100 {
		t.Errorf("p99 %vms over %d, want 1000ms over 100", smp.Value, smp.Samples)
	}
	// A bucket counter that goes down (restart) is a new base for all.
	hist(10, 12, 14, 15)
	if smp, err := r.next(); err != nil || smp.Counts[300] != want[300] {
		t.Errorf("after a reset: %+v %v, want the counts unchanged", smp.Counts, err)
	}
	hist(20, 22, 24, 35)
	smp, _ = r.next()
	if smp.Counts[300] != (signal.Count{N: 120, Bad: 40}) {
		t.Errorf("after the reset's base: %+v, want +20 requests, 10 of them above 500ms", smp.Counts[300])
	}
}

func TestCountsHistogramInMilliseconds(t *testing.T) {
	f := newFakeProm(t)
	s := newSource(t, f, func(c *Config) {
		c.Queries, c.Samples = nil, ""
		c.Counts = map[string]Counter{signal.LatencyP50: {Histogram: histTpl, Unit: "ms"}}
	})
	r := &reader{t: t, s: s, at: at, met: signal.LatencyP50, bnd: []float64{250}}
	f.on(histQuery, ok(seriesJSON(ser(0, "le", "100"), ser(0, "le", "250"), ser(0, "le", "+Inf"))))
	_, _ = r.next()
	f.on(histQuery, ok(seriesJSON(ser(40, "le", "100"), ser(60, "le", "250"), ser(100, "le", "+Inf"))))
	smp, err := r.next()
	if err != nil || smp.Counts[250] != (signal.Count{N: 100, Bad: 40}) {
		t.Fatalf("%+v %v, want 40 of 100 above 250ms", smp, err)
	}
	if math.Abs(smp.Value-175) > 1e-9 { // rank 50 between 40 (100ms) and 60 (250ms)
		t.Errorf("p50 %v, want 175ms", smp.Value)
	}
	f.on(histQuery, ok(seriesJSON(ser(5, "version", "v2"))))
	if _, err := r.next(); err == nil || !strings.Contains(err.Error(), "le label") {
		t.Errorf("series without le: %v", err)
	}
}

func TestCountsConfigProblems(t *testing.T) {
	base := func() Config {
		return Config{URL: "http://127.0.0.1:9090", Counts: map[string]Counter{signal.ErrorRate: {Total: totalTpl, Bad: badTpl}}}
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("counts alone (no queries, no samples) rejected: %v", err)
	}
	cases := []struct {
		name, path, msg string
		mut             func(*Config)
	}{
		{"no bad", "counts.error_rate.bad", "is required for a rate", func(c *Config) { c.Counts[signal.ErrorRate] = Counter{Total: totalTpl} }},
		{"windowed total", "counts.error_rate.total", "must read the raw counter, without increase()", func(c *Config) {
			c.Counts[signal.ErrorRate] = Counter{Total: `sum(increase(http_requests_total{version="{{.Version}}"}[1m]))`, Bad: badTpl}
		}},
		{"rate in bad", "counts.error_rate.bad", "without rate()", func(c *Config) {
			c.Counts[signal.ErrorRate] = Counter{Total: totalTpl, Bad: `sum(rate (x{version="{{.Version}}"}[1m]))`}
		}},
		{"quoting", "counts.error_rate.total", "variable Version must be used inside double quotes", func(c *Config) {
			c.Counts[signal.ErrorRate] = Counter{Total: `x{version='{{.Version}}'}`, Bad: badTpl}
		}},
		{"every version alike", "counts.error_rate.bad", "does not use {{.Version}}", func(c *Config) {
			c.Counts[signal.ErrorRate] = Counter{Total: totalTpl, Bad: `x{code="500"}`}
		}},
		{"histogram for a rate", "counts.error_rate", "is a rate: give total and bad", func(c *Config) {
			c.Counts[signal.ErrorRate] = Counter{Total: totalTpl, Bad: badTpl, Histogram: histTpl}
		}},
		{"no histogram", "counts.latency_p99_ms.histogram", "is required for a latency metric", func(c *Config) { c.Counts[signal.LatencyP99] = Counter{} }},
		{"total for latency", "counts.latency_p99_ms", "is a latency quantile", func(c *Config) {
			c.Counts[signal.LatencyP99] = Counter{Histogram: histTpl, Total: totalTpl}
		}},
		{"unit", "counts.latency_p99_ms.unit", `must be s or ms`, func(c *Config) { c.Counts[signal.LatencyP99] = Counter{Histogram: histTpl, Unit: "us"} }},
		{"gauge", "counts.quality_score", "is not a count of requests", func(c *Config) { c.Counts[signal.QualityScore] = Counter{Total: totalTpl} }},
		{"unknown", "counts.eror_rate", `unknown metric "eror_rate"`, func(c *Config) { c.Counts["eror_rate"] = Counter{Total: totalTpl, Bad: badTpl} }},
		{"both", "counts.error_rate", "is also under queries", func(c *Config) {
			c.Queries, c.Samples = map[string]string{signal.ErrorRate: errTpl}, samplesTpl
		}},
		{"nothing", "queries", "at least one metric query (or counts entry)", func(c *Config) { c.Counts = nil }},
		{"queries still need samples", "samples", "is required", func(c *Config) { c.Queries = map[string]string{signal.LatencyP50: errTpl} }},
	}
	for _, tc := range cases {
		c := base()
		tc.mut(&c)
		var errs field.Errors
		if err := c.Validate(); !errors.As(err, &errs) {
			t.Errorf("%s: accepted (%v)", tc.name, err)
			continue
		}
		found := false
		for _, p := range errs {
			found = found || (p.Path == tc.path && strings.Contains(p.Msg, tc.msg))
		}
		if !found {
			t.Errorf("%s: no problem at %s containing %q; got:\n%v", tc.name, tc.path, tc.msg, errs)
		}
	}
}

// The history behind window values is bounded by the longest window asked
// for, however long a version is read.
func TestCountsHistoryIsBounded(t *testing.T) {
	f := newFakeProm(t)
	s := countsSource(t, f)
	r := &reader{t: t, s: s, at: at, met: signal.ErrorRate}
	for i := range 300 {
		rates(f, tot("a", float64(1000+100*i)), bad("a", float64(i)))
		_, _ = r.next()
	}
	var st *countState
	for _, t := range s.tallies("checkout") {
		if t.key == (stateKey{"checkout", "v2", signal.ErrorRate}) {
			st = t.st
		}
	}
	if n := len(st.hist); n > 12 {
		t.Errorf("%d snapshots kept for a 10s window read every second, want at most 12", n)
	}
	smp, err := r.next()
	if err != nil || smp.Samples != 900 || smp.Counts[0] != (signal.Count{N: 29900, Bad: 299}) {
		t.Errorf("after 300 reads: %+v %v, want 900 requests in the window (the last read added none) and every increment counted", smp, err)
	}
}
