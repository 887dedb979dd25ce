package web_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ripcord/ripcord/internal/testenv"
)

// axeScript is axe-core (Deque's accessibility engine, the one browsers'
// own audits use), fetched by scripts/test.sh from the npm registry with
// its checksum verified; RIPCORD_AXE names the file.
func axeScript(t *testing.T) string {
	t.Helper()
	testenv.SkipIfOptedOut(t, testenv.Axe)
	path := os.Getenv("RIPCORD_AXE")
	if path == "" {
		path = testenv.AxePath
	}
	b, err := os.ReadFile(path)
	if err != nil {
		testenv.Missing(t, testenv.Axe, "no axe-core at "+path+" (scripts/test.sh fetches it from the npm registry)")
	}
	return string(b)
}

// axeViolation is one rule axe found broken, with the elements that break it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// TestAccessibility runs axe-core's WCAG 2.1 A and AA rules (labels,
// names, contrast, landmarks, keyboard focusability of controls, ARIA) on
// every page, as the operator (who sees the most controls, the canary's
// among them) at 1280 px and on a 390 px phone; any violation fails.
func TestAccessibility(t *testing.T) {
	axe := axeScript(t)
	ctx := chrome(t)
	d := canaryDaemon(t)
	if _, err := d.app.Service("svc").Rollback(t.Context(), "", "an earlier incident", "otto"); err != nil {
		t.Fatal(err)
	}
	if err := d.app.Service("svc").Deploy(t.Context(), "v3", backend(t, "v3"), "otto"); err != nil {
		t.Fatal(err)
	}
	if st := d.app.Service("svc").Status(); st.Canary == nil {
		t.Fatalf("no canary to audit: %+v", st)
	}
	incs, err := d.operator.Incidents(t.Context(), "svc", false)
	if err != nil || len(incs) == 0 {
		t.Fatalf("no incident to audit: %v", err)
	}
	id := incs[0].ID
	do(t, ctx, "sign-in page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	audit(t, ctx, axe, "sign-in")
	signInChrome(t, ctx, d.url, operatorToken)
	pages := []string{"/", "/services/svc", "/incidents", "/incidents/" + id}
	for _, width := range []int64{1280, 390} {
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, 900))
		for _, p := range pages {
			do(t, ctx, p, chromedp.Navigate(d.url+p), chromedp.WaitReady("main"))
			// Open every confirmation so the controls inside are audited too.
			eval[bool](t, ctx, `document.querySelectorAll("details").forEach(d => d.open = true), true`)
			audit(t, ctx, axe, p+" at "+strconv.FormatInt(width, 10)+" px")
			if p == "/services/svc" && width == 1280 {
				shot(t, ctx, "service-canary-operator")
			}
		}
	}
}

// audit runs axe on the page as it is and reports every violation.
func audit(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	load, cancelL := context.WithTimeout(ctx, step)
	defer cancelL()
	if _, err := chromedp.Run(load, chromedp.Evaluate[bool](axe+"\n;true")); err != nil {
		t.Fatalf("load axe-core into %s: %v", page, err)
	}
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := chromedp.Run(c, chromedp.Evaluate[string](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		for _, n := range v.Nodes {
			t.Errorf("%s: %s (%s, %s) at %v: %s", page, v.Help, v.ID, v.Impact, n.Target, n.Summary)
		}
	}
}
