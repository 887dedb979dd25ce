package chart

import (
	"bytes"
	"html/template"
	"strconv"
	"time"
)

// Spark is a small axis-free chart of one or more series (one per
// version), each scaled to the shared peak, for a table cell. Label is
// its accessible name, which should carry the numbers (a sparkline alone
// says nothing to a screen reader).
type Spark struct {
	W, H  int
	Label string
	Lines []Line
}

// Sparkline lays out series over [from, to]; nil when nothing is finite.
func Sparkline(series []Series, from, to time.Time, step time.Duration, w, h int, label string) *Spark {
	peak, any := 0.0, false
	for _, sr := range series {
		for _, p := range sr.Points {
			if p.OK && finite(p.V) {
				peak, any = max(peak, p.V), true
			}
		}
	}
	if !any {
		return nil
	}
	if peak <= 0 {
		peak = 1
	}
	span := float64(max(to.Sub(from), 1))
	x := func(t time.Time) float64 { return 1 + float64(t.Sub(from))/span*float64(w-2) }
	y := func(v float64) float64 { return float64(h-1) - v/peak*float64(h-2) }
	s := &Spark{W: w, H: h, Label: label}
	for i, sr := range series {
		for _, pts := range polylines(sr.Points, max(step, time.Nanosecond), x, y) {
			s.Lines = append(s.Lines, Line{Class: "series s" + strconv.Itoa(i%6), Points: pts})
		}
	}
	return s
}

// SVG draws the sparkline.
func (s *Spark) SVG() template.HTML {
	if s == nil {
		return ""
	}
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, "spark.svg.tmpl", s); err != nil {
		return template.HTML(template.HTMLEscapeString(err.Error()))
	}
	return template.HTML(b.String()) //nolint:gosec // built by html/template above
}
