package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
)

// canaryDaemon runs svc with a canary strategy whose steps never advance
// by themselves during a test (min_step an hour), so the page and the
// actions are judged on a canary that stays where it is put.
func canaryDaemon(t *testing.T) *daemon {
	return startDaemonWith(t, 1, func(cfg *config.Config) {
		cfg.Services[0].Strategy.Canary = &config.Canary{Steps: []int{1, 5, 25, 50, 100}, MinStep: time.Hour, MaxStep: 2 * time.Hour}
	})
}

// deployCanary deploys v1 from the dashboard as the operator and
// requires the canary it starts.
func deployCanary(t *testing.T, d *daemon, b *browser) {
	t.Helper()
	a := b.do(http.MethodPost, "/services/svc/deploy", url.Values{"csrf": {b.csrf()}, "version": {"v1"}}, "Origin: "+d.url)
	if a.status != http.StatusSeeOther {
		t.Fatalf("deploy: HTTP %d: %s", a.status, a.body)
	}
	st := d.app.Service("svc").Status()
	if st.Canary == nil || st.Active != "v1" || st.Canary.Stable != "v2" || st.Canary.Percent != 1 {
		t.Fatalf("after the deploy: active %s, canary %+v; want v1 on 1 %% with stable v2", st.Active, st.Canary)
	}
}

// TestCanaryOnPages: the services row and the service page show the step
// and the share; the operator gets promote and abort, the viewer neither
// (and a forged abort is a 403 that changes nothing).
func TestCanaryOnPages(t *testing.T) {
	d := canaryDaemon(t)
	op := newBrowser(t, d.url)
	op.signIn(operatorToken)
	deployCanary(t, d, op)

	if list := op.get("/").body; !strings.Contains(list, "canary step 1 of 5 · 1 % (stable v2)") {
		t.Errorf("the services row does not show the canary step:\n%s", grep(list, "svc"))
	}
	page := op.get("/services/svc").body
	for _, want := range []string{`id="canary"`, "<strong>1 %</strong> of traffic on v1, the rest on v2", "steps 1, 5, 25, 50, 100 %", `id="confirm-promote"`, `id="confirm-abort"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the operator's service page lacks %q", want)
		}
	}

	v := newBrowser(t, d.url)
	v.signIn(viewerToken)
	vpage := v.get("/services/svc").body
	if !strings.Contains(vpage, `id="canary"`) {
		t.Error("the viewer does not see the canary")
	}
	if strings.Contains(vpage, "confirm-promote") || strings.Contains(vpage, "confirm-abort") {
		t.Error("the viewer is offered promote or abort")
	}
	if a := v.do(http.MethodPost, "/services/svc/abort", url.Values{"csrf": {v.csrf()}}, "Origin: "+d.url); a.status != http.StatusForbidden {
		t.Errorf("viewer's abort: HTTP %d, want 403", a.status)
	}
	if st := d.app.Service("svc").Status(); st.Canary == nil || st.Active != "v1" {
		t.Errorf("the viewer's refused abort moved the canary: active %s, canary %+v", st.Active, st.Canary)
	}
}

// TestOperatorAbortAndPromote: abort sends traffic back to the stable
// version with no incident and no known-bad mark, on the decision trace
// with who did it and why; promote finishes a canary at once.
func TestOperatorAbortAndPromote(t *testing.T) {
	d := canaryDaemon(t)
	b := newBrowser(t, d.url)
	b.signIn(operatorToken)
	deployCanary(t, d, b)

	a := b.do(http.MethodPost, "/services/svc/abort", url.Values{"csrf": {b.csrf()}, "reason": {"wrong build"}}, "Origin: "+d.url)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/services/svc?done=abort" {
		t.Fatalf("abort: HTTP %d to %q: %s", a.status, a.header.Get("Location"), a.body)
	}
	st := d.app.Service("svc").Status()
	if st.Active != "v2" || st.Canary != nil || st.IncidentID != "" {
		t.Errorf("after abort: active %s, canary %+v, incident %q; want v2, none, none", st.Active, st.Canary, st.IncidentID)
	}
	for _, v := range st.Versions {
		if v.KnownBad {
			t.Errorf("abort marked %s known-bad", v.Name)
		}
	}
	page := b.get("/services/svc").body
	if trace := grep(page, "wrong build"); !strings.Contains(trace, "otto") {
		t.Errorf("the decision trace does not show otto's abort with its reason:\n%s", trace)
	}
	if strings.Contains(page, `id="canary"`) {
		t.Error("the page still shows a canary after the abort")
	}

	deployCanary(t, d, b)
	a = b.do(http.MethodPost, "/services/svc/promote", url.Values{"csrf": {b.csrf()}}, "Origin: "+d.url)
	if a.status != http.StatusSeeOther {
		t.Fatalf("promote: HTTP %d: %s", a.status, a.body)
	}
	if st := d.app.Service("svc").Status(); st.Active != "v1" || st.Canary != nil {
		t.Errorf("after promote: active %s, canary %+v; want v1 with all traffic", st.Active, st.Canary)
	}
	if a := b.do(http.MethodPost, "/services/svc/promote", url.Values{"csrf": {b.csrf()}}, "Origin: "+d.url); a.status != http.StatusConflict {
		t.Errorf("promote without a canary: HTTP %d, want 409: %s", a.status, a.body)
	}
}

// TestShadowOnPages: while a new version is judged in shadow, the pages
// say users are on the stable version and what the copies showed; the
// operator can abort the shadow, which leaves everyone where they were.
func TestShadowOnPages(t *testing.T) {
	d := startDaemonWith(t, 1, func(cfg *config.Config) {
		cfg.Services[0].Strategy.Shadow = &config.Shadow{Duration: time.Hour, Percent: 100, Methods: []string{"GET", "HEAD"},
			MaxBody: 1 << 16, Backlog: 16}
	})
	b := newBrowser(t, d.url)
	b.signIn(operatorToken)
	if a := b.do(http.MethodPost, "/services/svc/deploy", url.Values{"csrf": {b.csrf()}, "version": {"v1"}}, "Origin: "+d.url); a.status != http.StatusSeeOther {
		t.Fatalf("deploy: HTTP %d: %s", a.status, a.body)
	}
	if st := d.app.Service("svc").Status(); st.Shadow == nil || st.Active != "v1" || st.Shadow.Stable != "v2" {
		t.Fatalf("after the deploy: active %s, shadow %+v; want v1 in shadow over v2", st.Active, st.Shadow)
	}
	if row := grep(b.get("/").body, "in shadow"); !strings.Contains(row, "<td>v2<br>") || !strings.Contains(row, "v1 in shadow") {
		t.Errorf("the services row does not show users on v2 and v1 in shadow:\n%s", row)
	}
	page := b.get("/services/svc").body
	for _, want := range []string{`id="shadow"`, "v2 (users); v1 in shadow", "its answers reach no user, all of whom are on v2", `id="confirm-abort"`, "Abort shadow"} {
		if !strings.Contains(page, want) {
			t.Errorf("the service page lacks %q", want)
		}
	}
	if a := b.do(http.MethodPost, "/services/svc/abort", url.Values{"csrf": {b.csrf()}, "reason": {"not today"}}, "Origin: "+d.url); a.status != http.StatusSeeOther {
		t.Fatalf("abort: HTTP %d: %s", a.status, a.body)
	}
	if st := d.app.Service("svc").Status(); st.Shadow != nil || st.Active != "v2" || st.IncidentID != "" {
		t.Errorf("after abort: active %s, shadow %+v, incident %q; want v2, none, none", st.Active, st.Shadow, st.IncidentID)
	}
}
