package chart

import (
	"encoding/xml"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 120e6, time.UTC)

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

func pts(vals ...float64) []Point {
	var out []Point
	for i, v := range vals {
		out = append(out, Point{At: t0.Add(time.Duration(i+1) * time.Second), V: v, OK: !math.IsNaN(v)})
	}
	return out
}

// TestPolylinesBreakAtGaps: a point without data is a gap in the line,
// never a drop to zero.
func TestPolylinesBreakAtGaps(t *testing.T) {
	x := func(tt time.Time) float64 { return float64(tt.Sub(t0) / time.Second) }
	y := func(v float64) float64 { return v }
	nan := math.NaN()
	for _, tc := range []struct {
		pts  []Point
		want string
	}{
		{pts(1, 2, 3), "1,1 2,2 3,3"},
		{pts(1, nan, 3), "1,1|3,3"},
		{pts(nan, nan), ""},
		{append(pts(1, 2), Point{At: t0.Add(10 * time.Second), V: 9, OK: true}), "1,1 2,2|10,9"},
		{pts(1, math.Inf(1), 3), "1,1|3,3"},
	} {
		got := strings.Join(polylines(tc.pts, time.Second, x, y), "|")
		if got != tc.want {
			t.Errorf("polylines = %q, want %q", got, tc.want)
		}
	}
}

// TestPlaceMarkersStaggerLabels: markers milliseconds apart get labels on
// separate rows; one far away reuses the first row; one near the right
// edge is anchored at its end so the label stays in the chart.
func TestPlaceMarkersStaggerLabels(t *testing.T) {
	x := func(tt time.Time) float64 { return padL + float64(tt.Sub(t0)/time.Millisecond) }
	got := placeMarkers([]Marker{
		{At: t0, Label: "deploy"},
		{At: t0.Add(1 * time.Millisecond), Label: "detected"},
		{At: t0.Add(2 * time.Millisecond), Label: "rollback"},
		{At: t0.Add(300 * time.Millisecond), Label: "rollback"},
		{At: t0.Add(639 * time.Millisecond), Label: "edge"},
	}, x, padL+640)
	rows := []string{got[0].LabelY, got[1].LabelY, got[2].LabelY, got[3].LabelY}
	if rows[0] == rows[1] || rows[1] == rows[2] || rows[0] == rows[2] || rows[3] != rows[0] {
		t.Errorf("label rows = %v: close markers must not share a row, a far one reuses the first", rows)
	}
	if got[4].Anchor != "end" || got[0].Anchor != "start" {
		t.Errorf("anchors = %s, %s", got[0].Anchor, got[4].Anchor)
	}
}

var nonFinite = regexp.MustCompile(`(?i)nan|inf`)

// TestSeveralSeriesAndEscaping: one line class per version with a legend,
// thresholds and markers inside the box, a hostile label escaped, and the
// SVG well-formed XML with no non-finite number.
func TestSeveralSeriesAndEscaping(t *testing.T) {
	c := Layout(Spec{ID: "p99", Title: "p99 <latency>", Step: time.Second,
		Series:  []Series{{Name: "v1", Points: pts(10, 20, 30)}, {Name: `v2"><script>`, Points: pts(40, math.NaN(), 1e308)}},
		Limits:  []Limit{{Name: "max", V: 50}, {Name: "bad", V: math.Inf(1)}},
		Markers: []Marker{{At: t0.Add(2 * time.Second), Label: "rollback <b>"}}})
	if c == nil {
		t.Fatal("no chart")
	}
	if len(c.Legend) != 2 || c.Legend[0].Pos == c.Legend[1].Pos {
		t.Errorf("legend %v: want one distinct class per series", c.Legend)
	}
	if len(c.Limits) != 1 {
		t.Errorf("limits %v: the infinite one must be dropped", c.Limits)
	}
	svg := string(c.SVG())
	if strings.Contains(svg, "<script") || strings.Contains(svg, "<b>") || strings.Contains(svg, "<latency>") {
		t.Errorf("unescaped text in %s", svg)
	}
	if nonFinite.MatchString(svg) {
		t.Errorf("non-finite value in %s", svg)
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("not well-formed: %v\n%s", err, svg)
	}
	if Layout(Spec{Series: []Series{{Points: pts(math.NaN())}}}) != nil {
		t.Error("a chart was laid out with no finite value")
	}
}

func TestSparkline(t *testing.T) {
	s := Sparkline([]Series{{Points: pts(0, 1, math.NaN(), 4)}}, t0, t0.Add(5*time.Second), time.Second, 100, 20, "p99 peak 4 ms")
	if s == nil || len(s.Lines) != 2 {
		t.Fatalf("spark %+v: want two lines around the gap", s)
	}
	svg := string(s.SVG())
	if !strings.Contains(svg, `aria-label="p99 peak 4 ms"`) {
		t.Errorf("no accessible label in %s", svg)
	}
	for _, p := range strings.Fields(strings.Join([]string{s.Lines[0].Points, s.Lines[1].Points}, " ")) {
		xs, ys, _ := strings.Cut(p, ",")
		xv, _ := strconv.ParseFloat(xs, 64)
		yv, _ := strconv.ParseFloat(ys, 64)
		if xv < 0 || xv > 100 || yv < 0 || yv > 20 {
			t.Errorf("point %s outside 100×20", p)
		}
	}
	if Sparkline(nil, t0, t0, time.Second, 10, 10, "") != nil {
		t.Error("a sparkline of nothing")
	}
}
