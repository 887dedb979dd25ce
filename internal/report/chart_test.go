package report

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
		inX := func(s string) { checkIn(t, m.id+" x", s, 64, 64+plotW) }
		inY := func(s string) { checkIn(t, m.id+" y", s, 12, 12+178) }
		for _, l := range c.Lines {
			for _, p := range strings.Fields(l.Points) {
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
	if got := limitsOf(Threshold{Max: &neg, Min: ptr(math.NaN()), Critical: ptr(0.2)}); len(got) != 1 || got[0].Name != "critical" {
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
		all := ""
		for _, l := range c.Lines {
			all += " " + l.Points
		}
		for _, tk := range append(c.YTicks, c.XTicks...) {
			all += " " + tk.Pos + " " + tk.Label
		}
		if nonFinite.MatchString(all) {
			t.Errorf("%g: chart coordinates %q are not finite", v, nonFinite.FindString(all))
		}
	}
}
