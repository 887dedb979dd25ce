package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Formats a reader can compare across reports: UTC, millisecond precision.
const (
	stampLayout = "2006-01-02 15:04:05.000Z"
	clockLayout = "15:04:05"
)

// stamp prints an instant in UTC to the millisecond, "—" when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(stampLayout)
}

// count writes 2113 as "2,113".
func count(n int64) string { return grouped(strconv.FormatInt(n, 10)) }

// whole writes a float rounded to an integer with separators. It does not
// convert to int64: a pushed metric may be any finite number, and one past
// the int64 range would come out as math.MinInt64, with the wrong sign.
func whole(v float64) string {
	r := math.Round(v)
	if r == 0 {
		r = 0 // not "-0"
	}
	return grouped(strconv.FormatFloat(r, 'f', 0, 64))
}

// grouped puts thousands separators into a decimal integer. It works on
// the digits rather than negating n, which has no positive counterpart for
// math.MinInt64.
func grouped(s string) string {
	sign := ""
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		sign, s = "-", rest
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}

// finite reports whether v is a number that can be printed.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// pct prints a share (0.5) as a percentage with one decimal ("50.0%").
func pct(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

// ms prints a latency in milliseconds: one decimal below 10 ms, whole
// milliseconds with separators above.
func ms(v float64) string {
	switch {
	case !finite(v):
		return "n/a"
	case math.Abs(v) < 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return whole(v) + " ms"
}

// dur rounds a duration the way a person says it: "8 ms", "0.42 s",
// "10.4 s", "3 m 12 s", "2 h 05 m", "3 d 4 h".
func dur(d time.Duration) string {
	if d < 0 {
		return "-" + dur(-d)
	}
	switch {
	case d == 0:
		return "0 s"
	case d < time.Millisecond:
		return "<1 ms"
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond)/time.Millisecond)
	case d < time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d < time.Minute-50*time.Millisecond:
		return strings.Replace(fmt.Sprintf("%.1f s", d.Seconds()), ".0 s", " s", 1)
	case d < time.Hour-500*time.Millisecond:
		return minSec(d.Round(time.Second))
	case d < 24*time.Hour-30*time.Second:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%d h %02d m", d/time.Hour, d%time.Hour/time.Minute)
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%d d %d h", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}

func minSec(d time.Duration) string {
	m, s := d/time.Minute, d%time.Minute/time.Second
	if s == 0 {
		return fmt.Sprintf("%d m", m)
	}
	return fmt.Sprintf("%d m %d s", m, s)
}

// since prints how long after from the instant at came, "—" when either is
// unknown.
func since(from, at time.Time) string {
	if from.IsZero() || at.IsZero() {
		return "—"
	}
	return dur(at.Sub(from))
}

// offset prints at relative to from as "T+0.35 s" (or "T−2 m").
func offset(from, at time.Time) string {
	if from.IsZero() || at.IsZero() {
		return ""
	}
	if d := at.Sub(from); d < 0 {
		return "T−" + dur(-d)
	}
	return "T+" + dur(at.Sub(from))
}

// metricValue prints a metric the way detect writes reasons: rates as
// percent, latencies in ms, sample counts grouped, the rest with two
// decimals. A "baseline." prefix is read through.
func metricValue(metric string, v float64) string {
	if !finite(v) {
		return "n/a"
	}
	name := strings.TrimPrefix(metric, "baseline.")
	switch {
	case name == "samples":
		return whole(v)
	case name == signal.Throughput:
		return strconv.FormatFloat(v, 'f', 1, 64) + " req/s"
	}
	switch signal.KindOf(name) {
	case signal.KindRate:
		return pct(v)
	case signal.KindQuantile:
		return ms(v)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// bounds prints a metric's configured thresholds, "—" when none.
func bounds(metric string, t Threshold) string {
	var parts []string
	for _, b := range []struct {
		name string
		v    *float64
	}{{"max", t.Max}, {"min", t.Min}, {"critical", t.Critical}} {
		if b.v != nil {
			parts = append(parts, b.name+" "+metricValue(metric, *b.v))
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

// mdEscaper neutralises the Markdown a message could carry: table pipes,
// raw HTML, links and code spans. Backslash escapes keep the text readable
// in a terminal as well as rendered.
var mdEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `<`, `\<`, `[`, `\[`, `]`, `\]`, "`", "\\`",
	"\r\n", " ", "\n", " ", "\r", " ")

// mdCellEscaper is mdEscaper for a table cell, where a line break would end
// the row: it becomes <br>, which the renderers tables are read in honour.
var mdCellEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `<`, `\<`, `[`, `\[`, `]`, `\]`, "`", "\\`",
	"\r\n", "<br>", "\n", "<br>", "\r", "<br>")

func mdText(s string) string { return escapeControls(mdEscaper.Replace(s)) }
func mdCell(s string) string {
	if s == "" {
		return "—"
	}
	return escapeControls(mdCellEscaper.Replace(s))
}

// escapeControls writes control characters (ESC, BEL, NUL, DEL, C1 …; not
// tab) as visible \xNN / \u00NN text: a report is read with cat and less as
// often as rendered, and a terminal would obey an escape sequence from a
// note or a version name.
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !isControl(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f))
}
