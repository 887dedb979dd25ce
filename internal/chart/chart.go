package chart

import (
	"bytes"
	"embed"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Default geometry: a 720×220 canvas with room for axis labels.
const (
	DefaultW, DefaultH     = 720, 220
	padL, padR, padT, padB = 64, 16, 12, 30
)

// Point is one value of a series; OK false is a gap.
type Point struct {
	At time.Time
	V  float64
	OK bool
}

// Series is one line (one version, or all versions summed).
type Series struct {
	Name   string // shown in the legend when a chart has several
	Points []Point
}

// Limit is a threshold drawn as a dashed horizontal line.
type Limit struct {
	Name string
	V    float64
}

// Marker is an instant drawn across the chart (deploy, rollback, fallback).
type Marker struct {
	At    time.Time
	Label string
}

// Spec says what to draw.
type Spec struct {
	ID, Title string
	W, H      int // 0 = DefaultW × DefaultH
	Series    []Series
	// Step is the span one point covers: a line breaks where two points are
	// more than 2 steps apart.
	Step time.Duration
	// From and To bound the time axis; zero = from the points (the first
	// point's interval start) and markers.
	From, To time.Time
	Limits   []Limit
	Markers  []Marker
	Label    func(float64) string // y tick labels; nil = %g
}

// Chart is a laid-out chart; SVG draws it.
type Chart struct {
	ID, Title      string
	W, H           int
	X0, X1, Y0, Y1 string // plot box: left, right, top, bottom
	PlotW, PlotH   int
	Lines          []Line
	XTicks, YTicks []Tick
	Limits         []Tick // threshold lines: Pos is y
	Markers        []MarkerPos
	Legend         []Tick // Pos is the line's CSS class, Label its series name
}

// Line is one polyline: a series is several when it has gaps.
type Line struct{ Class, Points string }

// Tick is a labelled position.
type Tick struct{ Pos, Label string }

// MarkerPos is a placed marker.
type MarkerPos struct{ X, LabelX, LabelY, Anchor, Label string }

// Px formats a pixel coordinate with at most one decimal.
func Px(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Layout lays out s, or returns nil when no point has a finite value (no
// empty charts).
func Layout(s Spec) *Chart {
	w, h := s.W, s.H
	if w == 0 || h == 0 {
		w, h = DefaultW, DefaultH
	}
	plotW, plotH := w-padL-padR, h-padT-padB
	step := max(s.Step, time.Nanosecond)
	var vals []float64
	t0, t1 := s.From, s.To
	for _, sr := range s.Series {
		for _, p := range sr.Points {
			if p.OK && finite(p.V) {
				vals = append(vals, p.V)
			}
			if s.From.IsZero() && (t0.IsZero() || p.At.Add(-step).Before(t0)) {
				t0 = p.At.Add(-step)
			}
			if s.To.IsZero() && p.At.After(t1) {
				t1 = p.At
			}
		}
	}
	if len(vals) == 0 {
		return nil
	}
	if s.From.IsZero() || s.To.IsZero() {
		for _, mk := range s.Markers {
			if s.From.IsZero() && mk.At.Before(t0) {
				t0 = mk.At
			}
			if s.To.IsZero() && mk.At.After(t1) {
				t1 = mk.At
			}
		}
	}
	label := s.Label
	if label == nil {
		label = func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	}
	var limits []Limit
	for _, l := range s.Limits {
		if finite(l.V) && l.V >= 0 {
			limits = append(limits, l)
			vals = append(vals, l.V)
		}
	}
	top := niceTop(slices.Max(vals))
	x := func(t time.Time) float64 {
		return padL + float64(t.Sub(t0))/float64(max(t1.Sub(t0), 1))*float64(plotW)
	}
	y := func(v float64) float64 { return padT + float64(plotH) - v/top*float64(plotH) }
	c := &Chart{ID: s.ID, Title: s.Title, W: w, H: h,
		X0: Px(padL), X1: Px(float64(padL + plotW)), Y0: Px(padT), Y1: Px(float64(padT + plotH)), PlotW: plotW, PlotH: plotH}
	for i, sr := range s.Series {
		class := "series"
		if len(s.Series) > 1 {
			class = "series s" + strconv.Itoa(i%6)
			c.Legend = append(c.Legend, Tick{Pos: class, Label: sr.Name})
		}
		for _, pts := range polylines(sr.Points, step, x, y) {
			c.Lines = append(c.Lines, Line{Class: class, Points: pts})
		}
	}
	c.XTicks = timeTicks(t0, t1, x)
	for _, v := range valueTicks(top) {
		c.YTicks = append(c.YTicks, Tick{Pos: Px(y(v)), Label: label(v)})
	}
	for _, l := range limits {
		c.Limits = append(c.Limits, Tick{Pos: Px(y(l.V)), Label: l.Name + " " + label(l.V)})
	}
	c.Markers = placeMarkers(s.Markers, x, float64(padL+plotW))
	return c
}

// polylines draws a series, broken where points are missing: a gap in the
// data is not a zero.
func polylines(pts []Point, width time.Duration, x func(time.Time) float64, y func(float64) float64) []string {
	var lines []string
	var cur []string
	var prev time.Time
	for _, p := range pts {
		ok := p.OK && finite(p.V)
		if !ok || (!prev.IsZero() && p.At.Sub(prev) > 2*width) {
			if len(cur) > 0 {
				lines = append(lines, strings.Join(cur, " "))
			}
			cur = nil
		}
		if ok {
			cur = append(cur, Px(x(p.At))+","+Px(y(p.V)))
			prev = p.At
		}
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
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
func timeTicks(t0, t1 time.Time, x func(time.Time) float64) []Tick {
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if t1.Sub(t0)/s <= 7 {
			step = s
			break
		}
	}
	layout := "15:04:05"
	if t1.Sub(t0) > 24*time.Hour {
		layout = "01-02 15:04"
	} else if step >= time.Minute {
		layout = "15:04"
	}
	var out []Tick
	for t := t0.Truncate(step); !t.After(t1); t = t.Add(step) {
		if !t.Before(t0) {
			out = append(out, Tick{Pos: Px(x(t)), Label: t.UTC().Format(layout)})
		}
	}
	return out
}

// placeMarkers puts each marker's label on the first row where it does not
// run into the previous one: deploy, detection and rollback are often
// milliseconds apart.
func placeMarkers(marks []Marker, x func(time.Time) float64, right float64) []MarkerPos {
	const labelW, rowH = 64.0, 12.0
	var out []MarkerPos
	var rowEnd [4]float64
	for _, mk := range marks {
		xv := x(mk.At)
		anchor, lx := "start", xv+3
		if xv > right-labelW {
			anchor, lx = "end", xv-3
		}
		row := 0
		for row < len(rowEnd)-1 && rowEnd[row] > xv {
			row++
		}
		rowEnd[row] = xv + labelW
		out = append(out, MarkerPos{X: Px(xv), LabelX: Px(lx), LabelY: Px(padT + 10 + float64(row)*rowH),
			Anchor: anchor, Label: mk.Label})
	}
	return out
}

//go:embed templates
var files embed.FS

var tmpl = template.Must(template.ParseFS(files, "templates/*.tmpl"))

// SVG draws the chart as an inline <svg> element.
func (c *Chart) SVG() template.HTML {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, "chart.svg.tmpl", c); err != nil {
		// A template failure is a bug; say so in place of the chart
		// rather than panicking a page render.
		return template.HTML("<p>chart " + template.HTMLEscapeString(c.Title) + " failed: " + template.HTMLEscapeString(err.Error()) + "</p>")
	}
	return template.HTML(b.String()) //nolint:gosec // built by html/template above
}
