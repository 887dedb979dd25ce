package report

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestDurBoundaries: each unit switch happens where rounding would
// otherwise print a value of the next unit ("60.0 s", "60 m").
func TestDurBoundaries(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{time.Nanosecond, "<1 ms"},
		{999 * time.Microsecond, "<1 ms"},
		{time.Millisecond, "1 ms"},
		{1499 * time.Microsecond, "1 ms"},
		{99 * time.Millisecond, "99 ms"},
		{100 * time.Millisecond, "0.10 s"},
		{350 * time.Millisecond, "0.35 s"},
		{time.Second, "1 s"},
		{1050 * time.Millisecond, "1.1 s"},
		{9960 * time.Millisecond, "10 s"},
		{59940 * time.Millisecond, "59.9 s"},
		{59950 * time.Millisecond, "1 m"},
		{time.Minute, "1 m"},
		{61 * time.Second, "1 m 1 s"},
		{59*time.Minute + 59*time.Second, "59 m 59 s"},
		{59*time.Minute + 59600*time.Millisecond, "1 h 00 m"},
		{time.Hour + 29*time.Second, "1 h 00 m"},
		{time.Hour + 30*time.Second, "1 h 01 m"},
		{23*time.Hour + 59*time.Minute, "23 h 59 m"},
		{24*time.Hour - 30*time.Second, "1 d 0 h"},
		{36 * time.Hour, "1 d 12 h"},
		{10 * 24 * time.Hour, "10 d 0 h"},
		{-350 * time.Millisecond, "-0.35 s"},
		{-3 * time.Minute, "-3 m"},
	} {
		if got := dur(tc.d); got != tc.want {
			t.Errorf("dur(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestSinceAndOffset(t *testing.T) {
	t0 := deployAt
	for _, tc := range []struct {
		from, at      time.Time
		since, offset string
	}{
		{t0, t0.Add(350 * time.Millisecond), "0.35 s", "T+0.35 s"},
		{t0, t0, "0 s", "T+0 s"},
		{t0, t0.Add(-2 * time.Minute), "-2 m", "T−2 m"},
		{time.Time{}, t0, "—", ""},
		{t0, time.Time{}, "—", ""},
	} {
		if got := since(tc.from, tc.at); got != tc.since {
			t.Errorf("since(%v, %v) = %q, want %q", tc.from, tc.at, got, tc.since)
		}
		if got := offset(tc.from, tc.at); got != tc.offset {
			t.Errorf("offset(%v, %v) = %q, want %q", tc.from, tc.at, got, tc.offset)
		}
	}
}

func TestStamp(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "—"},
		{time.Date(2026, 3, 14, 14, 56, 53, 120_999_999, ist), "2026-03-14 09:26:53.120Z"},
		{time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), "2026-12-31 23:59:59.999Z"},
	} {
		if got := stamp(tc.t); got != tc.want {
			t.Errorf("stamp(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestNumberFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{count(0), "0"},
		{count(999), "999"},
		{count(1000), "1,000"},
		{count(-1000), "-1,000"},
		{count(100_000), "100,000"},
		{count(math.MaxInt64), "9,223,372,036,854,775,807"},
		{pct(0), "0.0%"},
		{pct(1), "100.0%"},
		{pct(0.00049), "0.0%"},
		{pct(math.NaN()), "n/a"},
		{pct(math.Inf(1)), "n/a"},
		{ms(0), "0.0 ms"},
		{ms(9.94), "9.9 ms"},
		{ms(10), "10 ms"},
		{ms(183.5), "184 ms"},
		{ms(-5), "-5.0 ms"},
		{ms(-1450), "-1,450 ms"},
		{ms(math.Inf(-1)), "n/a"},
		{metricValue("error_rate", 0.505), "50.5%"},
		{metricValue("http_5xx_rate", 0.02), "2.0%"},
		{metricValue("latency_p99_ms", 1450), "1,450 ms"},
		{metricValue("baseline.latency_p99_ms", 183), "183 ms"},
		{metricValue("ttfb_p50_ms", 3.25), "3.2 ms"},
		{metricValue("throughput_rps", 299.96), "300.0 req/s"},
		{metricValue("samples", 3012.4), "3,012"},
		{metricValue("baseline.samples", 99), "99"},
		{metricValue("quality_score", 0.75), "0.75"},
		{metricValue("cpu_usage", 1.234), "1.23"},
		{metricValue("some_custom_metric", 12), "12.00"},
		{metricValue("error_rate", math.NaN()), "n/a"},
		{bounds("quality_score", Threshold{Min: ptr(0.75), Critical: ptr(0.5)}), "min 0.75, critical 0.50"},
		{bounds("latency_p99_ms", Threshold{Max: ptr(3000), Critical: ptr(10000)}), "max 3,000 ms, critical 10,000 ms"},
		{bounds("error_rate", Threshold{}), "—"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestHugeValuesRender: a pushed metric may be any finite number. Values
// beyond int64 used to turn into math.MinInt64, whose negation recursed in
// count until the runtime killed the daemon with a fatal stack overflow
// (not a panic any recover could catch) while it wrote the report.
func TestHugeValuesRender(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{count(math.MinInt64), "-9,223,372,036,854,775,808"},
		{ms(1e19), "10,000,000,000,000,000,000 ms"},
		{ms(-1e19), "-10,000,000,000,000,000,000 ms"},
		{ms(math.MaxFloat64)[:6], "179,76"},
		{metricValue("samples", 1e19), "10,000,000,000,000,000,000"},
		{metricValue("samples", -0.4), "0"},
		{metricValue("latency_p99_ms", 9.3e18), "9,300,000,000,000,000,000 ms"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	in := fixture(t)
	in.Decisions[0].Snapshot["latency_p99_ms"] = 1e19
	in.Decisions[0].Snapshot["samples"] = -1e300
	in.Metrics[10].P99Ms = 1e300
	md, _ := renderAll(t, in)
	if !strings.Contains(md, "latency_p99_ms 10,000,000,000,000,000,000 ms") {
		t.Error("the huge snapshot value is not in the report")
	}
}
