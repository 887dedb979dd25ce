package report

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templates embed.FS

// sparkBlocks is how many blocks a Markdown sparkline has.
const sparkBlocks = 60

// view is what both templates render: the report plus its presentation.
type view struct {
	Report
	Charts []*figure // HTML: one per charted metric that has data
	Sparks []spark   // Markdown: the same series as text
	// SparkAxis is the time span under the sparklines.
	SparkAxis string
}

type spark struct {
	Title, Line, Peak string
}

// sparkAxis says what a Markdown sparkline spans.
func sparkAxis(secs []Second) string {
	_, width := buckets(secs, sparkBlocks)
	from, to := secs[0].At.Add(-interval), secs[len(secs)-1].At
	return stamp(from) + " → " + stamp(to) + ", one block ≈ " + dur(width)
}

func (r Report) view() view {
	v := view{Report: r}
	if len(r.Seconds) > 0 {
		v.SparkAxis = sparkAxis(r.Seconds)
	}
	for _, m := range charted {
		if c := newChart(m, r.Seconds, r.Markers, r.Thresholds); c != nil {
			v.Charts = append(v.Charts, c)
			peak, at, _ := peakOf(r.Seconds, m.value)
			v.Sparks = append(v.Sparks, spark{Title: m.title, Line: sparkline(r.Seconds, m.value, sparkBlocks),
				Peak: "peak " + metricValue(m.name, peak) + " at " + stamp(at)})
		}
	}
	return v
}

// funcs are the formatters both templates share; each returns plain text,
// which the HTML template escapes and the Markdown one passes through md
// or cell.
var funcs = map[string]any{
	"stamp": stamp, "since": since, "offset": offset, "dur": dur,
	"count": count, "pct": pct, "ms": ms, "metric": metricValue, "bounds": bounds,
	"md": mdText, "cell": mdCell,
	"join":    strings.Join,
	"title":   func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
	"minutes": func(d time.Duration) string { return strconv.FormatFloat(d.Minutes(), 'f', 2, 64) },
	"result": func(f FindingRow) string {
		switch {
		case f.Missing:
			return "missing"
		case f.TooFew:
			return "too few samples"
		case f.Critical:
			return "critical"
		case f.Anomalous:
			return "anomalous"
		}
		return "ok"
	},
}

var (
	mdTmpl   = texttemplate.Must(texttemplate.New("report.md.tmpl").Funcs(funcs).ParseFS(templates, "templates/report.md.tmpl"))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("report.html.tmpl").Funcs(funcs).ParseFS(templates, "templates/report.html.tmpl"))
)

// Markdown renders the report for a terminal, a ticket or a wiki. Text from
// outside ripcord (reasons, messages, notes) is escaped so it cannot break
// a table or inject markup.
func (r Report) Markdown() []byte {
	var b bytes.Buffer
	if err := mdTmpl.Execute(&b, r.view()); err != nil {
		// The template is fixed and tested, so this is a bug; still give the
		// reader the summary rather than take the daemon down.
		return []byte("# " + mdText(r.Title) + "\n\n" + mdText(r.Summary) + "\n\n(report rendering failed: " + mdText(err.Error()) + ")\n")
	}
	return b.Bytes()
}

// HTML renders the report as one self-contained page: inline CSS and SVG,
// no scripts, no external assets, everything escaped by html/template.
func (r Report) HTML() []byte {
	var b bytes.Buffer
	if err := htmlTmpl.Execute(&b, r.view()); err != nil {
		return []byte("<!doctype html><title>report</title><p>" + htmltemplate.HTMLEscapeString(r.Summary) +
			"</p><p>(report rendering failed: " + htmltemplate.HTMLEscapeString(err.Error()) + ")</p>\n")
	}
	return b.Bytes()
}
