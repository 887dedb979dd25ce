package report

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNiceAxis(t *testing.T) {
	for _, tc := range []struct {
		max, top float64
		ticks    string
	}{
		{0.505, 0.6, "0 0.2 0.4 0.6"},
		{1450, 2000, "0 500 1000 1500 2000"},
		{800, 1000, "0 500 1000"},
		{0.2, 0.3, "0 0.1 0.2 0.3"},
		{1, 1.5, "0 0.5 1 1.5"},
		{0, 1, "0 0.5 1"},
		{-3, 1, "0 0.5 1"},
		{math.NaN(), 1, "0 0.5 1"},
		{3e-6, 4e-6, "0 1e-06 2e-06 3e-06 4e-06"},
		{1e308, 1.5e308, "0 5e+307 1e+308 1.5e+308"},
	} {
		top := niceTop(tc.max)
		if math.Abs(top-tc.top) > 1e-9*tc.top {
			t.Errorf("niceTop(%v) = %v, want %v", tc.max, top, tc.top)
		}
		if finite(tc.max) && tc.max > 0 && top < tc.max*1.1-1e-12 {
			t.Errorf("niceTop(%v) = %v leaves no headroom", tc.max, top)
		}
		var got []string
		for _, v := range valueTicks(top) {
			got = append(got, strconv.FormatFloat(v, 'g', 6, 64))
		}
		if strings.Join(got, " ") != tc.ticks {
			t.Errorf("valueTicks(%v) = %v, want %s", top, got, tc.ticks)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	x := func(time.Time) float64 { return 0 }
	for _, tc := range []struct {
		span        time.Duration
		step        time.Duration
		firstLayout string
	}{
		{5 * time.Second, time.Second, "09:26:54"}, // 09:26:53 is before the start (.120)
		{40 * time.Second, 10 * time.Second, "09:27:00"},
		{10*time.Minute + 17*time.Second, 2 * time.Minute, "09:28"},
		{3 * time.Hour, 30 * time.Minute, "09:30"},
		{50 * time.Hour, 12 * time.Hour, "03-14 12:00"},
	} {
		t0 := deployAt
		ticks := timeTicks(t0, t0.Add(tc.span), x)
		if len(ticks) == 0 || len(ticks) > 8 {
			t.Errorf("span %v: %d ticks, want 1..8", tc.span, len(ticks))
			continue
		}
		if ticks[0].Label != tc.firstLayout {
			t.Errorf("span %v: first tick %q, want %q", tc.span, ticks[0].Label, tc.firstLayout)
		}
		if int(tc.span/tc.step) > 7 {
			t.Errorf("table: span %v at step %v is more than 7 steps", tc.span, tc.step)
		}
	}
}

func secsAt(vals ...float64) []Second {
	var out []Second
	for i, v := range vals {
		s := Second{At: deployAt.Add(time.Duration(i+1) * time.Second), Requests: 100}
		if !math.IsNaN(v) {
			s.P99, s.HasLatency = v, true
		}
		out = append(out, s)
	}
	return out
}

// TestPolylinesBreakAtGaps: a second without data is a gap in the line,
// never a drop to zero.
func TestPolylinesBreakAtGaps(t *testing.T) {
	x := func(tt time.Time) float64 { return float64(tt.Sub(deployAt) / time.Second) }
	y := func(v float64) float64 { return v }
	nan := math.NaN()
	for _, tc := range []struct {
		secs []Second
		want string
	}{
		{secsAt(1, 2, 3), "1,1 2,2 3,3"},
		{secsAt(1, nan, 3), "1,1|3,3"},
		{secsAt(nan, nan), ""},
		{append(secsAt(1, 2), Second{At: deployAt.Add(10 * time.Second), P99: 9, HasLatency: true}), "1,1 2,2|10,9"},
		{secsAt(1, math.Inf(1), 3), "1,1|3,3"},
	} {
		got := strings.Join(polylines(tc.secs, p99, interval, x, y), "|")
		if got != tc.want {
			t.Errorf("polylines = %q, want %q", got, tc.want)
		}
	}
}

func TestSparkline(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		secs []Second
		want string
	}{
		{secsAt(0, 1, 2, 4, 7), "▁▂▃▅█"},
		{secsAt(5, nan, 5), "█ █"},
		{secsAt(0, 0), "▁▁"},
	} {
		if got := sparkline(tc.secs, p99, 60); got != tc.want {
			t.Errorf("sparkline = %q, want %q", got, tc.want)
		}
	}
	long := secsAt(make([]float64, 600)...)
	if n := len([]rune(sparkline(long, p99, 60))); n > 60 {
		t.Errorf("600 seconds made %d blocks, want at most 60", n)
	}
}

// TestPlaceMarkersStaggerLabels: markers milliseconds apart get labels on
// separate rows; one far away reuses the first row; one near the right
// edge is anchored at its end so the label stays in the chart.
func TestPlaceMarkersStaggerLabels(t *testing.T) {
	x := func(tt time.Time) float64 { return padL + float64(tt.Sub(deployAt)/time.Millisecond) }
	got := placeMarkers([]Marker{
		{At: deployAt, Label: "deploy"},
		{At: deployAt.Add(1 * time.Millisecond), Label: "detected"},
		{At: deployAt.Add(2 * time.Millisecond), Label: "rollback"},
		{At: deployAt.Add(300 * time.Millisecond), Label: "rollback"},
		{At: deployAt.Add(639 * time.Millisecond), Label: "edge"},
	}, x)
	rows := []string{got[0].LabelY, got[1].LabelY, got[2].LabelY, got[3].LabelY}
	if rows[0] == rows[1] || rows[1] == rows[2] || rows[0] == rows[2] || rows[3] != rows[0] {
		t.Errorf("label rows = %v: close markers must not share a row, a far one reuses the first", rows)
	}
	if got[4].Anchor != "end" || got[0].Anchor != "start" {
		t.Errorf("anchors = %s, %s", got[0].Anchor, got[4].Anchor)
	}
}

// TestChartStaysInItsBox: every point, tick, limit and marker of the
// fixture's charts is inside the plot box, so nothing is drawn over the
// labels or outside the SVG.
func TestChartStaysInItsBox(t *testing.T) {
	r := Build(fixture(t))
	for _, m := range charted {
		c := newChart(m, r.Seconds, r.Markers, r.Thresholds)
		if c == nil {
			t.Fatalf("no %s chart", m.id)
		}
		inX := func(s string) { checkIn(t, m.id+" x", s, padL, padL+plotW) }
		inY := func(s string) { checkIn(t, m.id+" y", s, padT, padT+plotH) }
		for _, l := range c.Lines {
			for _, p := range strings.Fields(l) {
				xs, ys, _ := strings.Cut(p, ",")
				inX(xs)
				inY(ys)
			}
		}
		for _, tk := range c.XTicks {
			inX(tk.Pos)
		}
		for _, tk := range append(c.YTicks, c.Limits...) {
			inY(tk.Pos)
		}
		for _, mk := range c.Markers {
			inX(mk.X)
		}
		if len(c.Limits) == 0 {
			t.Errorf("%s chart has no threshold lines", m.id)
		}
	}
}

func checkIn(t *testing.T, what, s string, lo, hi float64) {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < lo-0.05 || v > hi+0.05 {
		t.Errorf("%s = %q, outside [%v, %v]", what, s, lo, hi)
	}
}

func TestNoChartWithoutValues(t *testing.T) {
	secs := []Second{{At: deployAt, Requests: 0}, {At: deployAt.Add(time.Second)}}
	for _, m := range charted {
		if c := newChart(m, secs, nil, nil); c != nil {
			t.Errorf("%s: a chart of seconds without values", m.id)
		}
		if c := newChart(m, nil, nil, nil); c != nil {
			t.Errorf("%s: a chart of no seconds", m.id)
		}
	}
	neg := -1.0
	if got := limitsOf(Threshold{Max: &neg, Min: ptr(math.NaN()), Critical: ptr(0.2)}); len(got) != 1 || got[0].name != "critical" {
		t.Errorf("limitsOf kept %v, want only the finite, non-negative critical", got)
	}
}

// TestExtremeValuesChartFinite: the largest latency the store keeps (it
// stores anything beyond ±1e308 as 0) and the smallest still chart with
// finite coordinates: no NaN may reach the SVG.
func TestExtremeValuesChartFinite(t *testing.T) {
	for _, v := range []float64{1e308, 5e-324} {
		c := newChart(charted[1], secsAt(1, v, 2), nil, nil)
		if c == nil {
			t.Fatalf("%g: no chart", v)
		}
		all := strings.Join(c.Lines, " ")
		for _, tk := range append(c.YTicks, c.XTicks...) {
			all += " " + tk.Pos + " " + tk.Label
		}
		if nonFinite.MatchString(all) {
			t.Errorf("%g: chart coordinates %q are not finite", v, nonFinite.FindString(all))
		}
	}
}
