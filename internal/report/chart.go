package report

import (
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/chart"
	"github.com/ripcord/ripcord/internal/signal"
)

// plotW is the default chart's plot width: how many points a chart has
// at most.
const plotW = chart.DefaultW - 64 - 16

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

// figure is one chart of the HTML report: the SVG and its caption's step.
type figure struct {
	*chart.Chart
	Step string // what one point spans: "second" or "10 s"
}

// newChart lays out one metric over the seconds, or returns nil when no
// second has a value for it (no empty charts).
func newChart(m metric, secs []Second, marks []Marker, th map[string]Threshold) *figure {
	if len(secs) == 0 {
		return nil
	}
	pts, width := buckets(secs, plotW)
	sr := chart.Series{Points: make([]chart.Point, 0, len(pts))}
	for _, s := range pts {
		v, ok := m.value(s)
		sr.Points = append(sr.Points, chart.Point{At: s.At, V: v, OK: ok})
	}
	var cm []chart.Marker
	for _, mk := range marks {
		cm = append(cm, chart.Marker{At: mk.At, Label: mk.Label})
	}
	c := chart.Layout(chart.Spec{ID: m.id, Title: m.title, Series: []chart.Series{sr}, Step: width,
		Limits: limitsOf(th[m.name]), Markers: cm, Label: m.label})
	if c == nil {
		return nil
	}
	f := &figure{Chart: c, Step: "second"}
	if width > interval {
		f.Step = dur(width)
	}
	return f
}

// limitsOf is a threshold's drawable lines: finite and not negative.
func limitsOf(t Threshold) []chart.Limit {
	var out []chart.Limit
	for _, l := range []struct {
		name string
		v    *float64
	}{{"max", t.Max}, {"min", t.Min}, {"critical", t.Critical}} {
		if l.v != nil && finite(*l.v) && *l.v >= 0 {
			out = append(out, chart.Limit{Name: l.name, V: *l.v})
		}
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
