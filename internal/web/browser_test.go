package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ripcord/ripcord/internal/testenv"
)

// browserLife bounds a test's whole browser: a chromium that stops
// answering (a start that never prints its DevTools address, a navigation
// that never ends) fails that test with "context deadline exceeded"
// instead of hanging the package until go test's -timeout kills it
// without naming anyone.
const browserLife = 5 * time.Minute

// step bounds one call into the page.
const step = 30 * time.Second

// chrome starts a headless Debian chromium for one test; a missing one
// fails the test unless RIPCORD_SKIP names chromium.
func chrome(t *testing.T) context.Context {
	t.Helper()
	testenv.SkipIfOptedOut(t, testenv.Chromium)
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, testenv.Chromium, "no chromium on PATH (Debian package chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900),
		chromedp.NoSandbox, // the tests may run as root, where chromium's sandbox refuses to start
		chromedp.UserDataDir(t.TempDir()))
	life, cancelL := context.WithTimeout(context.Background(), browserLife)
	actx, cancelA := chromedp.NewExecAllocator(life, opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA(); cancelL() })
	// The first call allocates the browser and ties its life to the
	// context it is given, so the start is bounded by a timer, not a
	// shorter-lived context.
	stuck := time.AfterFunc(step, cancelC)
	defer stuck.Stop()
	if err := chromedp.Do(ctx); err != nil {
		testenv.Missing(t, testenv.Chromium, "chromium did not start: "+err.Error())
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// shot writes a full-page screenshot to the test's artifact directory
// (kept under the output directory with go test -artifacts; logged
// either way).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100)) // 100 = PNG (lower is JPEG)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %s", name, p)
}

func signInChrome(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	do(t, ctx, "sign in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("svc-count")))
}

// waitJS polls a boolean expression until it holds (an event in the page),
// and says how long that took.
func waitJS(t *testing.T, ctx context.Context, what, expr string) time.Duration {
	t.Helper()
	start := time.Now()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		b, cancelB := context.WithTimeout(ctx, step)
		defer cancelB()
		body, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\npage:\n%s", what, err, body)
	}
	return time.Since(start)
}

// TestBrowserOperator: an operator signs in, loads every page, and rolls
// back from the service page through the in-page confirmation; the
// rollback is on the incident's timeline with the operator's name.
func TestBrowserOperator(t *testing.T) {
	ctx := chrome(t)
	d := startDaemon(t, 1)
	if _, err := d.app.Service("svc").Rollback(t.Context(), "", "an earlier incident", "otto"); err != nil {
		t.Fatal(err)
	}
	if err := d.app.Service("svc").Deploy(t.Context(), "v3", backend(t, "v3"), "otto"); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "sign-in page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	shot(t, ctx, "login")
	signInChrome(t, ctx, d.url, operatorToken)
	shot(t, ctx, "services-1280")
	do(t, ctx, "service page", chromedp.Navigate(d.url+"/services/svc"), chromedp.WaitVisible(chromedp.ID("charts-h")))
	shot(t, ctx, "service-operator")
	do(t, ctx, "open the confirmation", chromedp.Click(chromedp.CSS("section.actions details:first-of-type > summary")),
		chromedp.WaitVisible(chromedp.ID("confirm-rollback")))
	// RunResponse waits for the navigation the form post starts.
	c, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if resp, err := chromedp.RunResponse(c, chromedp.Click(chromedp.ID("confirm-rollback"))); err != nil || resp.Status != 200 {
		t.Fatalf("confirm rollback: %v (response %+v)", err, resp)
	}
	waitJS(t, ctx, "incident page after the rollback", `location.pathname.startsWith("/incidents/INC-") && !!document.querySelector(".flash")`)
	timeline := eval[string](t, ctx, `document.querySelector(".timeline").innerText`)
	if !strings.Contains(timeline, "otto") || !strings.Contains(timeline, "rollback") {
		t.Errorf("timeline does not show otto's rollback:\n%s", timeline)
	}
	shot(t, ctx, "incident-operator")
	if st := d.app.Service("svc").Status(); st.Active == "v3" {
		t.Errorf("still on v3 after the rollback")
	}
	do(t, ctx, "incidents", chromedp.Navigate(d.url+"/incidents"), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, "incidents")
	do(t, ctx, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("svc-count")))
	if eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		t.Error("the services page scrolls sideways at 390 px")
	}
	shot(t, ctx, "services-390")
}

// TestBrowserViewerLive: a viewer sees no action button, a forged POST
// from the viewer's own page is a 403, a rollback made meanwhile appears
// without a reload, and after a daemon restart the page reconnects by
// itself and keeps showing changes — still signed in.
func TestBrowserViewerLive(t *testing.T) {
	ctx := chrome(t)
	d := startDaemon(t, 1)
	signInChrome(t, ctx, d.url, viewerToken)
	do(t, ctx, "service page", chromedp.Navigate(d.url+"/services/svc"), chromedp.WaitVisible(chromedp.ID("charts-h")))
	if n := eval[int](t, ctx, `document.querySelectorAll('form[action^="/services/"], form[action*="/incidents/"]').length`); n != 0 {
		t.Errorf("the viewer's page has %d action forms", n)
	}
	shot(t, ctx, "service-viewer")
	status := eval[int](t, ctx, `(async () => {
		const csrf = document.querySelector('input[name=csrf]').value;
		const r = await fetch('/services/svc/rollback', {method: 'POST', body: new URLSearchParams({csrf})});
		return r.status; })()`, chromedp.EvalAwaitPromise)
	if status != 403 {
		t.Errorf("the viewer's forged POST: HTTP %d, want 403", status)
	}
	do(t, ctx, "services page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("svc-count")),
		chromedp.Evaluate[chromedp.Void](`window.__mark = "not reloaded"`))
	waitJS(t, ctx, "live feed connected", `document.getElementById("live").dataset.state === "on"`)
	if _, err := d.operator.Rollback(t.Context(), "svc", "", "live test"); err != nil {
		t.Fatal(err)
	}
	took := waitJS(t, ctx, "the rollback on the page", `document.querySelector('tr[data-service="svc"] td').textContent.trim().startsWith("v1") && window.__mark === "not reloaded"`)
	t.Logf("rollback shown %v after the API call returned, without a reload", took)
	shot(t, ctx, "services-live-rollback")

	d.restart()
	waitJS(t, ctx, "reconnected after the restart", `document.getElementById("live").dataset.state === "on"`)
	if err := d.app.Service("svc").Pause(t.Context(), "otto"); err != nil {
		t.Fatal(err)
	}
	took = waitJS(t, ctx, "a change after the restart", `document.querySelector('tr[data-service="svc"]').textContent.includes("paused") && window.__mark === "not reloaded"`)
	t.Logf("pause after a restart shown %v later, without a reload", took)
}
