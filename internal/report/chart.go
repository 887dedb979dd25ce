package report

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Chart geometry: a 720×220 canvas with room for axis labels.
const (
	chartW, chartH         = 720, 220
	padL, padR, padT, padB = 64, 16, 12, 30
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
)

// metric is one charted quantity of a Second.
type metric struct {
	id, title string
	name      string // the metric's signal name: its Thresholds key and format
	value     func(Second) (float64, bool)
	label     func(float64) string // axis ticks
}

var charted = []metric{
	{id: "error-rate", title: "Error rate", name: signal.ErrorRate, value: errorRate, label: pctTick},
	{id: "p99", title: "p99 latency", name: signal.LatencyP99, value: p99, label: msTick},
}

func errorRate(s Second) (float64, bool) { return ratio(s.Errors, s.Requests), s.Requests > 0 }
func p99(s Second) (float64, bool)       { return s.P99, s.HasLatency && finite(s.P99) }

// pctTick is pct without a needless ".0": "20%", "0.5%".
func pctTick(v float64) string { return strings.Replace(pct(v), ".0%", "%", 1) }

// msTick is ms without a needless ".0": "0 ms", "2.5 ms".
func msTick(v float64) string { return strings.Replace(ms(v), ".0 ms", " ms", 1) }

// chart is an SVG line chart laid out in pixels; the template draws it.
type chart struct {
	ID, Title      string
	W, H           int
	X0, X1, Y0, Y1 string // plot box: left, right, top, bottom
	PlotW, PlotH   int
	Step           string // what one point spans: "second" or "10 s"
	Lines          []string
	XTicks, YTicks []tick
	Limits         []tick // threshold lines: Pos is y
	Markers        []marker
}

type tick struct{ Pos, Label string }

type marker struct{ X, LabelX, LabelY, Anchor, Label string }

func px(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// newChart lays out one metric over the seconds, or returns nil when no
// second has a value for it (no empty charts).
func newChart(m metric, secs []Second, marks []Marker, th map[string]Threshold) *chart {
	if len(secs) == 0 {
		return nil
	}
	pts, width := buckets(secs, plotW)
	t0, t1 := pts[0].At.Add(-width), pts[len(pts)-1].At
	for _, mk := range marks {
		t0, t1 = minTime(t0, mk.At), maxTime(t1, mk.At)
	}
	var vals []float64
	for _, s := range pts {
		if v, ok := m.value(s); ok && finite(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return nil
	}
	limits := limitsOf(th[m.name])
	top := niceTop(slices.Max(append(slices.Clone(vals), limitValues(limits)...)))
	x := func(t time.Time) float64 { return padL + float64(t.Sub(t0))/float64(max(t1.Sub(t0), 1))*plotW }
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	c := &chart{ID: m.id, Title: m.title, W: chartW, H: chartH,
		X0: px(padL), X1: px(padL + plotW), Y0: px(padT), Y1: px(padT + plotH), PlotW: plotW, PlotH: plotH, Step: "second"}
	if width > interval {
		c.Step = dur(width)
	}
	c.Lines = polylines(pts, m.value, width, x, y)
	c.XTicks = timeTicks(t0, t1, x)
	for _, v := range valueTicks(top) {
		c.YTicks = append(c.YTicks, tick{Pos: px(y(v)), Label: m.label(v)})
	}
	for _, l := range limits {
		c.Limits = append(c.Limits, tick{Pos: px(y(l.v)), Label: l.name + " " + m.label(l.v)})
	}
	c.Markers = placeMarkers(marks, x)
	return c
}

// polylines draws the series, broken where points are missing: a gap in
// the data is not a zero.
func polylines(pts []Second, value func(Second) (float64, bool), width time.Duration, x func(time.Time) float64, y func(float64) float64) []string {
	var lines []string
	var cur []string
	var prev time.Time
	for _, s := range pts {
		v, ok := value(s)
		if !ok || !finite(v) || (!prev.IsZero() && s.At.Sub(prev) > 2*width) {
			if len(cur) > 0 {
				lines = append(lines, strings.Join(cur, " "))
			}
			cur = nil
		}
		if ok && finite(v) {
			cur = append(cur, px(x(s.At))+","+px(y(v)))
			prev = s.At
		}
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}

type limit struct {
	name string
	v    float64
}

func limitsOf(t Threshold) []limit {
	var out []limit
	for _, l := range []struct {
		name string
		v    *float64
	}{{"max", t.Max}, {"min", t.Min}, {"critical", t.Critical}} {
		if l.v != nil && finite(*l.v) && *l.v >= 0 {
			out = append(out, limit{l.name, *l.v})
		}
	}
	return out
}

func limitValues(ls []limit) []float64 {
	out := make([]float64, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.v)
	}
	return out
}

// niceStep is 1, 2 or 5 times a power of ten, giving about four steps up
// to top.
func niceStep(top float64) float64 {
	raw := top / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// niceTop rounds the largest value, with 10% headroom, up to a whole step.
func niceTop(v float64) float64 {
	if !finite(v) || v <= 0 {
		return 1
	}
	v *= 1.1
	s := niceStep(v)
	return math.Ceil(v/s-1e-9) * s
}

func valueTicks(top float64) []float64 {
	s := niceStep(top)
	var out []float64
	for i := 0; float64(i)*s <= top*(1+1e-9); i++ {
		out = append(out, float64(i)*s)
	}
	return out
}

var tickSteps = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// timeTicks labels the time axis in UTC at a round step, at most 8 ticks.
func timeTicks(t0, t1 time.Time, x func(time.Time) float64) []tick {
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if t1.Sub(t0)/s <= 7 {
			step = s
			break
		}
	}
	layout := clockLayout
	if t1.Sub(t0) > 24*time.Hour {
		layout = "01-02 15:04"
	} else if step >= time.Minute {
		layout = "15:04"
	}
	var out []tick
	for t := t0.Truncate(step); !t.After(t1); t = t.Add(step) {
		if !t.Before(t0) {
			out = append(out, tick{Pos: px(x(t)), Label: t.UTC().Format(layout)})
		}
	}
	return out
}

// placeMarkers puts each marker's label on the first row where it does not
// run into the previous one: deploy, detection and rollback are often
// milliseconds apart.
func placeMarkers(marks []Marker, x func(time.Time) float64) []marker {
	const labelW, rowH = 64.0, 12.0
	var out []marker
	var rowEnd [4]float64
	for _, mk := range marks {
		xv := x(mk.At)
		anchor, lx := "start", xv+3
		if xv > padL+plotW-labelW {
			anchor, lx = "end", xv-3
		}
		row := 0
		for row < len(rowEnd)-1 && rowEnd[row] > xv {
			row++
		}
		rowEnd[row] = xv + labelW
		out = append(out, marker{X: px(xv), LabelX: px(lx), LabelY: px(padT + 10 + float64(row)*rowH),
			Anchor: anchor, Label: mk.Label})
	}
	return out
}

// sparkline is a one-line text chart for Markdown: the series in at most n
// blocks, scaled to its own peak; a blank is a stretch without data.
func sparkline(secs []Second, value func(Second) (float64, bool), n int) string {
	const levels = "▁▂▃▄▅▆▇█"
	pts, _ := buckets(secs, n)
	peak := 0.0
	for _, s := range pts {
		if v, ok := value(s); ok && finite(v) {
			peak = max(peak, v)
		}
	}
	var b strings.Builder
	blocks := []rune(levels)
	for _, s := range pts {
		v, ok := value(s)
		switch {
		case !ok || !finite(v):
			b.WriteRune(' ')
		case peak <= 0:
			b.WriteRune(blocks[0])
		default:
			b.WriteRune(blocks[min(int(v/peak*float64(len(blocks)-1)+0.5), len(blocks)-1)])
		}
	}
	return b.String()
}

// peakOf finds the highest value of a series and when it was reached.
func peakOf(secs []Second, value func(Second) (float64, bool)) (float64, time.Time, bool) {
	var best float64
	var at time.Time
	found := false
	for _, s := range secs {
		if v, ok := value(s); ok && finite(v) && (!found || v > best) {
			best, at, found = v, s.At, true
		}
	}
	return best, at, found
}
