package web

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// funcs are the templates' formatters.
var funcs = template.FuncMap{
	"when":    when,
	"pct":     pct,
	"num":     num,
	"count":   count,
	"add":     func(a, b int) int { return a + b },
	"sub":     func(a, b int) int { return a - b },
	"upper":   strings.ToUpper,
	"evclass": func(typ string) string { return eventClass(typ) },
}

// when is a time as the page shows it: UTC text (which the script turns
// into the viewer's zone) in a <time> whose title keeps the UTC.
func when(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	u := t.UTC()
	iso := u.Format(time.RFC3339Nano)
	txt := u.Format("2006-01-02 15:04:05 UTC")
	return template.HTML(`<time datetime="` + template.HTMLEscapeString(iso) + `" title="` + txt + `">` + txt + `</time>`) //nolint:gosec // fixed layouts
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func pct(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

func num(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// count prints an integer with thousands separators.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
