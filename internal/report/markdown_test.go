package report

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
)

// TestMDTextEscapes pins what outside text turns into in running Markdown:
// every metacharacter that could open markup, a link, a code span or end a
// table row is backslash-escaped, line breaks become spaces, and control
// characters are shown, not obeyed.
func TestMDTextEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, 50.5% > 20%", "plain text, 50.5% > 20%"},
		{"a|b", `a\|b`},
		{"<script>alert(1)</script>", `\<script>alert(1)\</script>`},
		{"[click](javascript:alert(1))", `\[click\](javascript:alert(1))`},
		{"![img](http://x/y.png)", `!\[img\](http://x/y.png)`},
		{"`rm -rf /`", "\\`rm -rf /\\`"},
		{`C:\path\to`, `C:\\path\\to`},
		{`\|`, `\\\|`}, // an escape in the input cannot un-escape the pipe
		{`\[x]`, `\\\[x\]`},
		{"one\ntwo\r\nthree\rfour", "one two three four"},
		{"bell\x07 esc\x1b[31m nul\x00 del\x7f", `bell\x07 esc\x1b\[31m nul\x00 del\x7f`},
		{"csi\u009b31m nel\u0085", `csi\u009b31m nel\u0085`},
		{"tab\tstays", "tab\tstays"},
		{"ünïcödé → ✓", "ünïcödé → ✓"},
		{"", ""},
	} {
		if got := mdText(tc.in); got != tc.want {
			t.Errorf("mdText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestMDCellEscapes: the same in a table cell, except that a line break
// becomes <br> (so a multi-line note stays in its row) and an empty cell
// reads "—" (so the table has no hole).
func TestMDCellEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "—"},
		{"v2", "v2"},
		{"a|b|c", `a\|b\|c`},
		{"line one\nline two", "line one<br>line two"},
		{"crlf\r\nend", "crlf<br>end"},
		{"cr\rend", "cr<br>end"},
		{"<b>bold</b>", `\<b>bold\</b>`},
		{"x\x1b]0;title\x07", `x\x1b\]0;title\x07`},
		{"`code` | [l](u)", "\\`code\\` \\| \\[l\\](u)"},
	} {
		if got := mdCell(tc.in); got != tc.want {
			t.Errorf("mdCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestEscapedTextHasNoLiveMarkup is the property behind the tables above,
// over every metacharacter and control character combined with text: after
// escaping, no unescaped metacharacter, line break or control is left.
func TestEscapedTextHasNoLiveMarkup(t *testing.T) {
	pieces := []string{"|", "<", "[", "]", "`", `\`, "\n", "\r", "\x1b", "\x00", "\x7f", "\u0090", "a", " ", "é"}
	live := regexp.MustCompile(`(^|[^\\])(\\\\)*[|<\[\]` + "`" + `]`)
	for _, a := range pieces {
		for _, b := range pieces {
			for _, c := range pieces {
				in := a + b + c
				// The <br> mdCell writes for a line break is the one markup it adds.
				cell := strings.ReplaceAll(mdCell(in), "<br>", " ")
				for name, got := range map[string]string{"mdText": mdText(in), "mdCell": cell} {
					if live.MatchString(got) {
						t.Errorf("%s(%q) = %q leaves a metacharacter unescaped", name, in, got)
					}
					if strings.ContainsFunc(got, isControl) || strings.ContainsAny(got, "\n\r") {
						t.Errorf("%s(%q) = %q leaves a control character or line break", name, in, got)
					}
				}
			}
		}
	}
}

// hostileEverywhere puts the same hostile text in every field that reaches
// the report from outside ripcord.
func hostileEverywhere(t *testing.T, s string) Input {
	in := fixture(t)
	in.Incident.Title = "t " + s
	in.Incident.Reason = "r " + s
	in.Incident.FromVersion = "v2" + s
	for i := range in.Incident.Events {
		in.Incident.Events[i].Message += " " + s
		in.Incident.Events[i].Actor += s
	}
	in.Decisions[0].Reason, in.Decisions[0].Result, in.Decisions[0].Action = "dr "+s, "res "+s, "rollback"+s
	for i := range in.Deployments {
		in.Deployments[i].Actor += s
	}
	in.ChangeCauses = map[string]string{"v1": "c1 " + s, "v2": "c2 " + s, "v2" + s: "c3 " + s}
	return in
}

// TestMarkdownTablesSurviveHostileText renders reports with hostile text in
// every outside field and checks the structure: every table row keeps its
// column count, no raw control character is printed, and every section is
// still there.
func TestMarkdownTablesSurviveHostileText(t *testing.T) {
	unescapedPipe := regexp.MustCompile(`(^|[^\\])(\\\\)*\|`)
	for name, s := range map[string]string{
		"pipes":    "| x | y |",
		"newlines": "a\nb\r\nc\rd",
		"html":     `<img src=x onerror=alert(1)>`,
		"links":    "[a](b) ![c](d) <http://e>",
		"code":     "```\nfenced\n```",
		"controls": "\x1b[2J\x1b]8;;http://evil\x07link\x1b]8;;\x07\x00\u009b",
		"escapes":  `\|\\|\`,
	} {
		t.Run(name, func(t *testing.T) {
			md := string(Build(hostileEverywhere(t, s)).Markdown())
			if strings.Contains(md, "rendering failed") {
				t.Fatalf("rendering failed:\n%s", md)
			}
			if i := strings.IndexFunc(md, isControl); i >= 0 && md[i] != '\n' {
				t.Fatalf("raw control character %q at %d", md[i], i)
			}
			inFence := false
			cols := 0
			for n, l := range strings.Split(md, "\n") {
				if strings.HasPrefix(l, "```") {
					inFence = !inFence
					continue
				}
				if inFence {
					continue
				}
				if !strings.HasPrefix(l, "|") {
					cols = 0
					continue
				}
				c := len(unescapedPipe.FindAllString(l, -1))
				if cols == 0 {
					cols = c
				} else if c != cols {
					t.Errorf("line %d: %d columns, its table has %d: %s", n+1, c, cols, l)
				}
			}
			if fences := strings.Count(md, "\n```"); fences != 2 {
				t.Errorf("%d code fences, want the sparkline block's 2: hostile text opened one", fences)
			}
			checkSections(t, md, mdSections)
		})
	}
}

var mdSections = []string{"# ", "## Summary", "## Impact", "## Detection", "### Decision trace", "## Timeline",
	"## Metrics before / during / after", "## Versions", "## Rollback verification", "## Root cause",
	"## Contributing factors", "## Action items"}

var htmlSections = []string{"<h1>", "<h2>Summary", "<h2>Impact", "<h2>Detection", "<h2>Timeline",
	"<h2>Metrics before / during / after", "<h2>Versions", "<h2>Rollback verification", "<h2>Root cause",
	"<h2>Contributing factors", "<h2>Action items"}

// checkSections requires every heading, once, in order.
func checkSections(t *testing.T, doc string, headings []string) {
	t.Helper()
	pos := -1
	for _, h := range headings {
		var i int
		if h == "# " {
			i = strings.Index(doc, h)
			if i != 0 {
				t.Errorf("the report does not open with its title")
			}
		} else {
			i = strings.Index(doc, "\n"+h)
			if h[0] == '<' {
				i = strings.Index(doc, h)
			}
			if n := strings.Count(doc, "\n"+h+"\n") + strings.Count(doc, h+"</h2>"); n > 1 {
				t.Errorf("section %q appears %d times", h, n)
			}
		}
		if i < 0 {
			t.Errorf("section %q is missing", h)
			continue
		}
		if i < pos {
			t.Errorf("section %q is out of order", h)
		}
		pos = i
	}
}

// TestEverySectionInEveryScenario: whatever the incident went through,
// both renderings carry every section, so a reader (or a wiki importer)
// always finds the same outline.
func TestEverySectionInEveryScenario(t *testing.T) {
	scenarios := map[string]func(t *testing.T) Input{
		"rollback": func(t *testing.T) Input { return fixture(t) },
		"chain":    chain,
		"no metrics": func(t *testing.T) Input {
			in := fixture(t)
			in.Metrics = nil
			return in
		},
		"empty incident": func(t *testing.T) Input {
			return Input{Incident: incident.Incident{Service: "api"}, GeneratedAt: deployAt}
		},
		"blind": func(t *testing.T) Input {
			return Input{Incident: incident.Incident{ID: "INC-0003", Service: "api", Kind: incident.KindBlind,
				FromVersion: "v1", Reason: "error_rate: no data for 2m", CreatedAt: deployAt}, GeneratedAt: deployAt.Add(time.Hour)}
		},
	}
	for name, mk := range scenarios {
		t.Run(name, func(t *testing.T) {
			md, page := renderAll(t, mk(t))
			checkSections(t, md, mdSections)
			checkSections(t, page, htmlSections)
			if !strings.Contains(md, "_To be filled in by the incident owner._") {
				t.Error("the root cause placeholder is missing: the report must not guess one")
			}
		})
	}
}

// TestEmptyIncidentReadsSensibly: an incident with nothing recorded yet
// still says so in words rather than printing empty tables or zeros.
func TestEmptyIncidentReadsSensibly(t *testing.T) {
	in := Input{Incident: incident.Incident{Service: "api", CreatedAt: deployAt}, GeneratedAt: deployAt.Add(time.Minute)}
	r := Build(in)
	if r.Title != "api incident" {
		t.Errorf("title = %q", r.Title)
	}
	md := string(r.Markdown())
	for _, want := range []string{"none judged bad", "No detection was recorded", "No decisions were recorded",
		"No metric points were recorded", "No versions were recorded on this incident.", "_Not verified yet._",
		"api: trouble from 2026-03-14 09:26:53.120Z: no reason was recorded."} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if len(r.ActionItems) != 3 {
		t.Errorf("action items = %q, want the three every review gets", r.ActionItems)
	}
}

// TestActionItemsCarryTheNumbers: the seeded follow-ups name what the
// incident showed, and add the instability and delivery items only when
// the incident calls for them.
func TestActionItemsCarryTheNumbers(t *testing.T) {
	r := Build(fixture(t))
	want := []string{
		"Add a test for this failure (error_rate, latency_p99_ms on v2)",
		"Consider a longer bake or a smaller first traffic share: 105 requests reached v2 before the rollback",
		"Review thresholds (error_rate: max 5.0%, critical 20.0%; latency_p99_ms: max 800 ms)",
		"Investigate the instability of checkout: 3 rollbacks in 7 days",
		"Fix notification delivery to pagerduty: it failed during this incident",
	}
	if !slices.Equal(r.ActionItems, want) {
		t.Errorf("action items:\n%s\nwant:\n%s", strings.Join(r.ActionItems, "\n"), strings.Join(want, "\n"))
	}
	in := fixture(t)
	in.RecentRollbacks = 2
	in.Incident.Events = slices.DeleteFunc(in.Incident.Events, func(ev incident.Event) bool { return ev.Type == incident.EvNotifyFailed })
	if got := Build(in).ActionItems; len(got) != 3 {
		t.Errorf("without instability or failed deliveries: %q", got)
	}
	// A channel named only in the message (older events) is still found.
	in.Incident.Events = append(in.Incident.Events, incident.Event{Type: incident.EvNotifyFailed, Message: "jira:OPS: refused"},
		incident.Event{Type: incident.EvNotifyFailed, Message: "jira:OPS: refused again"})
	if got := Build(in).ActionItems; got[len(got)-1] != "Fix notification delivery to jira: it failed during this incident" {
		t.Errorf("last item = %q", got[len(got)-1])
	}
}
