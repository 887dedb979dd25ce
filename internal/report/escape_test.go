package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
)

const hostile = `<script>alert("x")</script> | [click](javascript:alert(1)) ` + "`code`"

// hostileInput puts markup and table pipes everywhere outside text reaches.
func hostileInput(t *testing.T) Input {
	in := fixture(t)
	in.Incident.Title = "checkout " + hostile
	in.Incident.Reason = "reason " + hostile
	in.Decisions[0].Reason = "reason " + hostile
	in.Decisions[0].Result = "result |x|"
	in.Incident.Events = append(in.Incident.Events, incident.Event{
		At: at(3 * time.Minute), Type: incident.EvNote, Actor: "mallory|<b>", Message: "line one\nline two " + hostile})
	in.Deployments[1].URL = `http://x/"><script>alert(2)</script>`
	in.ChangeCauses["v2"] = "cause " + hostile
	return in
}

func TestHTMLEscapesEverything(t *testing.T) {
	page := Build(hostileInput(t)).HTML()
	if bytes.Contains(bytes.ToLower(page), []byte("<script")) {
		t.Fatal("HTML contains an unescaped <script")
	}
	if !bytes.Contains(page, []byte("&lt;script&gt;")) {
		t.Error("the hostile text is missing instead of escaped")
	}
	for _, external := range []string{"src=", "href=", "@import", "url("} {
		if bytes.Contains(page, []byte(external)) {
			t.Errorf("HTML references an external asset (%s); it must be self-contained", external)
		}
	}
	svgWellFormed(t, page)
}

func TestMarkdownEscapesTables(t *testing.T) {
	md := string(Build(hostileInput(t)).Markdown())
	if regexp.MustCompile(`(^|[^\\])(<script|\]\()`).MatchString(md) {
		t.Error("Markdown carries raw HTML or a live link")
	}
	unescapedPipe := regexp.MustCompile(`(^|[^\\])\|`)
	var header int
	for i, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			header = 0
			continue
		}
		n := len(unescapedPipe.FindAllString(l, -1))
		if header == 0 {
			header = n
		} else if n != header {
			t.Errorf("line %d has %d cell separators, its table has %d: %s", i+1, n, header, l)
		}
	}
	if !strings.Contains(md, `reason \<script>alert("x")\</script> \| \[click\]`) {
		t.Error("the decision reason is not escaped as expected")
	}
	if !strings.Contains(md, "line one<br>line two") {
		t.Error("a multi-line note must stay in its table row")
	}
}

// svgWellFormed checks every <svg> fragment of the page parses as XML.
func svgWellFormed(t *testing.T, page []byte) {
	t.Helper()
	frags := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAll(page, -1)
	if len(frags) == 0 {
		t.Fatal("no <svg> chart in the page")
	}
	for i, f := range frags {
		d := xml.NewDecoder(bytes.NewReader(f))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("chart %d is not well-formed XML: %v", i, err)
			}
		}
	}
}

func TestChartsAreWellFormed(t *testing.T) {
	page := Build(fixture(t)).HTML()
	svgWellFormed(t, page)
	if n := bytes.Count(page, []byte("<svg")); n != 2 {
		t.Errorf("%d charts, want error rate and p99", n)
	}
	for _, want := range []string{">deploy<", ">detected<", ">rollback<", ">max 5%<", ">critical 20%<", ">max 800 ms<"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("charts lack %s", want)
		}
	}
}

var nonFinite = regexp.MustCompile(`\bNaN\b|\bInf\b|\+Inf`)

func renderAll(t *testing.T, in Input) (string, string) {
	t.Helper()
	r := Build(in)
	md, page := string(r.Markdown()), string(r.HTML())
	for name, out := range map[string]string{"markdown": md, "html": page} {
		if strings.Contains(out, "rendering failed") {
			t.Fatalf("%s rendering failed:\n%s", name, out)
		}
		if nonFinite.MatchString(out) {
			t.Errorf("%s prints a non-finite number: %q", name, nonFinite.FindString(out))
		}
	}
	return md, page
}

func TestNoMetricPoints(t *testing.T) {
	in := fixture(t)
	in.Metrics = nil
	md, page := renderAll(t, in)
	if strings.Contains(page, "<svg") {
		t.Error("an empty chart was drawn")
	}
	for _, want := range []string{"No metric points were recorded", "unknown: no metric points", "the whole window: no metric points"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestNotMitigatedYet(t *testing.T) {
	in := fixture(t)
	var evs []incident.Event
	for _, ev := range in.Incident.Events[:3] { // opened, detected, rollback_started
		evs = append(evs, ev)
	}
	in.Incident.Events = append(evs, incident.Event{At: at(2 * time.Second), Type: incident.EvRollbackFailed,
		Actor: "ripcord", Message: "switch refused: 503"})
	in.Incident.MitigatedAt, in.Incident.ToVersion = time.Time{}, ""
	in.Decisions[0].Status, in.Decisions[0].Result = "failed", "switch refused: 503"
	in.GeneratedAt = at(30 * time.Second)
	r := Build(in)
	if !r.Impact.Ongoing || !r.Impact.End.Equal(in.GeneratedAt) {
		t.Fatalf("impact = %+v, want ongoing until GeneratedAt", r.Impact)
	}
	// Seconds end at .380: T+0.38 … T+30.38 overlap (T, T+30s].
	if d := r.Phases[1]; !d.To.Equal(in.GeneratedAt) || d.Seconds != 31 {
		t.Errorf("during = %s → %s with %d seconds, want T → T+30s with 31", d.From, d.To, d.Seconds)
	}
	md, _ := renderAll(t, in)
	for _, want := range []string{"not mitigated yet", "_Not verified yet._", "rollback_failed: switch refused: 503", "No rollback completed."} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestNoDecisionsAndBlind(t *testing.T) {
	in := fixture(t)
	in.Decisions = nil
	in.Incident.Kind, in.Incident.ToVersion = incident.KindBlind, ""
	in.Incident.Reason = "flying blind: error_rate no data"
	in.Incident.Events = []incident.Event{{At: at(time.Minute), Type: incident.EvOpened, Actor: "ripcord", Message: "minor incident opened (blind)"}}
	in.Incident.MitigatedAt, in.Incident.ResolvedAt = time.Time{}, at(2*time.Minute)
	md, _ := renderAll(t, in)
	for _, want := range []string{"No decisions were recorded", "none judged bad", "No detection was recorded"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestNonFiniteInputsPrintNothingNonFinite(t *testing.T) {
	in := fixture(t)
	in.Metrics[10].P99Ms = math.NaN()
	in.Metrics[11].P50Ms = math.Inf(1)
	in.Decisions[0].Snapshot["latency_p99_ms"] = math.NaN()
	// What the store writes for a NaN inside event data.
	in.Incident.Events[1].Data = map[string]any{"findings": []any{
		map[string]any{"metric": "error_rate", "value": "NaN", "samples": "NaN", "anomalous": true},
		"not an object",
	}}
	in.Incident.Events[7].Data = map[string]any{"snapshot": map[string]any{"error_rate": "+Inf", "bogus": true}}
	r := Build(in)
	if got := r.Checks[0].Findings; len(got) != 1 || got[0].Samples != 0 {
		t.Errorf("findings decoded as %+v", got)
	}
	renderAll(t, in)
}

// TestMarkdownEscapesControlsAndMasksURLs: a report is read in terminals
// too, and by everyone who can see the incident.
func TestMarkdownEscapesControlsAndMasksURLs(t *testing.T) {
	in := fixture(t)
	in.Incident.Title = "checkout \x1b]0;owned\x07 down"
	in.Incident.Events = append(in.Incident.Events, incident.Event{
		At: at(3 * time.Minute), Type: incident.EvNote, Actor: "op\x1b[2J", Message: "clear\x1b[2J\x00 \u009b31m"})
	in.Deployments[1].URL = "http://deploy:hunter2@checkout-v2.internal:8080/?token=abc123&x=1"
	md := string(Build(in).Markdown())
	if i := strings.IndexAny(md, "\x1b\x07\x00\u009b"); i >= 0 {
		t.Fatalf("Markdown carries a raw control character: %q", md[max(0, i-20):min(len(md), i+20)])
	}
	for _, want := range []string{`clear\x1b\[2J\x00 \u009b31m`, `op\x1b\[2J`} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks the escaped %q", want)
		}
	}
	page := string(Build(in).HTML())
	for _, out := range []string{md, page} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "abc123") {
			t.Fatal("the report shows a version URL's password or query value")
		}
	}
	if !strings.Contains(md, "deploy:\\*\\*\\*@checkout-v2.internal:8080/?token=\\*\\*\\*&x=\\*\\*\\*") && !strings.Contains(md, "deploy:***@checkout-v2.internal:8080/?token=***&x=***") {
		t.Errorf("the masked URL is missing:\n%s", md)
	}
}
