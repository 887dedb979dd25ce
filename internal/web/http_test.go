package web_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
	"github.com/ripcord/ripcord/internal/web"
)

func sessionCookie(t *testing.T, a answer) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "ripcord_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", a.header)
	return nil
}

// TestSignIn: signed out, every page sends you to sign in; a wrong token is
// refused; the right one, posted, gives an HttpOnly SameSite=Strict cookie
// whose secret the store keeps only hashed; the token is in no page and no
// URL, and a token in a query string signs nobody in.
func TestSignIn(t *testing.T) {
	d := startDaemon(t, 1)
	b := newBrowser(t, d.url)
	for _, p := range []string{"/", "/services/svc", "/incidents", "/incidents/INC-0001"} {
		if a := b.get(p); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s signed out: HTTP %d to %q, want 303 to /login", p, a.status, a.header.Get("Location"))
		}
	}
	if a := b.get("/events"); a.status != http.StatusUnauthorized {
		t.Errorf("GET /events signed out: HTTP %d, want 401", a.status)
	}
	if a := b.do(http.MethodPost, "/login", url.Values{"token": {"not-a-token"}}); a.status != http.StatusUnauthorized || strings.Contains(a.body, "not-a-token") {
		t.Errorf("wrong token: HTTP %d (want 401), echoed: %v", a.status, strings.Contains(a.body, "not-a-token"))
	}
	if a := b.get("/login?token=" + operatorToken); len(a.header.Values("Set-Cookie")) != 0 || strings.Contains(a.body, operatorToken) {
		t.Error("a token in the URL set a cookie or was echoed")
	}
	a := b.do(http.MethodPost, "/login", url.Values{"token": {operatorToken}, "next": {"//evil.example/"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
		t.Errorf("sign-in with an off-site next: HTTP %d to %q, want 303 to /", a.status, a.header.Get("Location"))
	}
	c := sessionCookie(t, a)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if left := time.Until(c.Expires); left < 11*time.Hour || left > 13*time.Hour {
		t.Errorf("cookie expires in %v, want the 12 h session", left)
	}
	st := d.app.Store()
	h := sha256.Sum256([]byte(c.Value))
	ss, err := st.Session(t.Context(), hex.EncodeToString(h[:]), time.Now())
	if err != nil || ss.TokenName != "otto" || ss.Role != config.RoleOperator {
		t.Errorf("stored session by hash = %+v, %v", ss, err)
	}
	if _, err := st.Session(t.Context(), c.Value, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the store found a session by the raw secret (err %v): it must keep only the hash", err)
	}
	for _, p := range []string{"/", "/services/svc", "/incidents"} {
		a := b.get(p)
		if a.status != http.StatusOK {
			t.Errorf("GET %s signed in: HTTP %d", p, a.status)
		}
		if strings.Contains(a.body, operatorToken) || strings.Contains(a.body, c.Value) {
			t.Errorf("GET %s: the token or the session secret is in the page source", p)
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
	}
}

var actionRE = regexp.MustCompile(`action="/services/svc/(rollback|deploy|pause|resume)"`)

// TestViewerCannotAct: a viewer sees the service and no action, and a
// forged POST — with the viewer's own valid CSRF token — is a 403 that
// changes nothing.
func TestViewerCannotAct(t *testing.T) {
	d := startDaemon(t, 1)
	b := newBrowser(t, d.url)
	b.signIn(viewerToken)
	page := b.get("/services/svc").body
	if m := actionRE.FindString(page); m != "" || strings.Contains(page, "Confirm rollback") {
		t.Errorf("the viewer's page has an action: %q", m)
	}
	csrf := b.csrf()
	for _, action := range []string{"rollback", "pause", "deploy"} {
		if a := b.do(http.MethodPost, "/services/svc/"+action, url.Values{"csrf": {csrf}, "version": {"v1"}}); a.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: HTTP %d, want 403", action, a.status)
		}
	}
	if st := d.app.Service("svc").Status(); st.Active != "v2" || st.Paused {
		t.Errorf("after the viewer's forged posts: active %s paused %v, want v2 unpaused", st.Active, st.Paused)
	}
}

// TestOperatorRollback: an operator's form rollback (not JSON: the API's
// JSON-only rule is /api/v1/'s) moves traffic, opens an incident whose
// timeline names the operator; without the CSRF token, or from another
// origin, the same POST is a 403.
func TestOperatorRollback(t *testing.T) {
	d := startDaemon(t, 1)
	b := newBrowser(t, d.url)
	b.signIn(operatorToken)
	if !actionRE.MatchString(b.get("/services/svc").body) {
		t.Fatal("the operator's service page has no action form")
	}
	csrf := b.csrf()
	if a := b.do(http.MethodPost, "/services/svc/rollback", url.Values{"reason": {"no csrf"}}); a.status != http.StatusForbidden {
		t.Errorf("rollback without CSRF: HTTP %d, want 403", a.status)
	}
	if a := b.do(http.MethodPost, "/services/svc/rollback", url.Values{"csrf": {csrf}}, "Origin: http://evil.example"); a.status != http.StatusForbidden {
		t.Errorf("rollback from another origin: HTTP %d, want 403", a.status)
	}
	if a := b.do(http.MethodPost, "/services/svc/rollback", url.Values{"csrf": {csrf}}, "Sec-Fetch-Site: cross-site"); a.status != http.StatusForbidden {
		t.Errorf("cross-site rollback: HTTP %d, want 403", a.status)
	}
	if st := d.app.Service("svc").Status(); st.Active != "v2" {
		t.Fatalf("a refused post rolled back: active %s", st.Active)
	}
	a := b.do(http.MethodPost, "/services/svc/rollback", url.Values{"csrf": {csrf}, "reason": {"checkout errors <b>"}}, "Origin: "+d.url)
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/incidents/INC-") {
		t.Fatalf("rollback: HTTP %d to %q: %s", a.status, a.header.Get("Location"), a.body)
	}
	if st := d.app.Service("svc").Status(); st.Active != "v1" {
		t.Errorf("after rollback active = %s, want v1", st.Active)
	}
	page := b.get(a.header.Get("Location")).body
	if !strings.Contains(page, `<span class="actor">otto</span>`) || !strings.Contains(page, "Rollback started") {
		t.Errorf("the incident page does not show otto's rollback on the timeline")
	}
	if strings.Contains(page, "checkout errors <b>") {
		t.Error("the reason reached the page unescaped")
	}
}

// TestIncidentActions: ack, note and resolve from the incident page land
// on the timeline with the operator's name; a viewer's note is a 403.
func TestIncidentActions(t *testing.T) {
	d := startDaemon(t, 1)
	id, err := d.app.Service("svc").Rollback(t.Context(), "", "seed", "otto")
	if err != nil {
		t.Fatal(err)
	}
	v := newBrowser(t, d.url)
	v.signIn(viewerToken)
	if strings.Contains(v.get("/incidents/"+id).body, "Confirm resolve") {
		t.Error("the viewer's incident page has a resolve button")
	}
	if a := v.do(http.MethodPost, "/incidents/"+id+"/note", url.Values{"csrf": {v.csrf()}, "text": {"hi"}}); a.status != http.StatusForbidden {
		t.Errorf("viewer note: HTTP %d, want 403", a.status)
	}
	b := newBrowser(t, d.url)
	b.signIn(operatorToken)
	csrf := b.csrf()
	// A person's rollback opens its incident already identified, so there
	// is nothing to acknowledge: the move is refused, not repeated.
	if a := b.do(http.MethodPost, "/incidents/"+id+"/ack", url.Values{"csrf": {csrf}}); a.status != http.StatusConflict {
		t.Errorf("ack of an identified incident: HTTP %d, want 409", a.status)
	}
	for _, step := range []struct{ action, text string }{{"note", "looking at the db"}, {"resolve", "fixed"}} {
		a := b.do(http.MethodPost, "/incidents/"+id+"/"+step.action, url.Values{"csrf": {csrf}, "text": {step.text}})
		if a.status != http.StatusSeeOther {
			t.Fatalf("%s: HTTP %d: %s", step.action, a.status, a.body)
		}
	}
	inc, err := d.app.Store().GetIncident(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range inc.Events {
		if ev.Actor == "otto" && (ev.Type == "status" || ev.Type == "note") {
			got = append(got, ev.Type+":"+ev.Message)
		}
	}
	want := []string{"note:looking at the db", "status:status identified → resolved: fixed"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("otto's events = %q, want %q", got, want)
	}
	if a := b.do(http.MethodPost, "/incidents/"+id+"/note", url.Values{"csrf": {csrf}, "text": {"after"}}); a.status != http.StatusSeeOther {
		t.Errorf("note on a resolved incident: HTTP %d, want 303 (notes stay possible)", a.status)
	}
}

// TestSessionSurvivesRestartAndSignOut: a restart signs nobody out (the
// session is in the store); signing out ends the session for good, even
// for a copy of the cookie.
func TestSessionSurvivesRestartAndSignOut(t *testing.T) {
	d := startDaemon(t, 1)
	b := newBrowser(t, d.url)
	b.signIn(viewerToken)
	d.restart()
	if a := b.get("/"); a.status != http.StatusOK {
		t.Fatalf("after a restart: HTTP %d, want 200 (still signed in)", a.status)
	}
	u, _ := url.Parse(d.url)
	saved := b.c.Jar.Cookies(u)
	if a := b.do(http.MethodPost, "/logout", url.Values{"csrf": {b.csrf()}}); a.status != http.StatusSeeOther {
		t.Fatalf("sign-out: HTTP %d", a.status)
	}
	c := newBrowser(t, d.url)
	c.c.Jar.SetCookies(u, saved)
	if a := c.get("/"); a.status != http.StatusSeeOther {
		t.Errorf("the signed-out cookie still works: HTTP %d", a.status)
	}
}

// TestSessionExpires: past its TTL a session sends you to sign in, and a
// token removed from the config ends its sessions.
func TestSessionExpires(t *testing.T) {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	clock := func() time.Time { return now }
	tokens := []config.Token{{Name: "vera", Role: config.RoleViewer, Value: viewerToken}}
	srv := httpServer(t, web.New(web.Options{Store: st, Tokens: tokens, Now: clock, SessionTTL: time.Hour}))
	b := newBrowser(t, srv)
	b.signIn(viewerToken)
	if a := b.get("/"); a.status != http.StatusOK {
		t.Fatalf("fresh session: HTTP %d", a.status)
	}
	now = now.Add(time.Hour)
	if a := b.get("/"); a.status != http.StatusSeeOther {
		t.Errorf("expired session: HTTP %d, want 303 to sign in", a.status)
	}
	now = now.Add(-time.Hour)
	srv2 := httpServer(t, web.New(web.Options{Store: st, Tokens: nil, Now: clock}))
	b.base = srv2
	if a := b.get("/"); a.status != http.StatusSeeOther {
		t.Errorf("session of a removed token: HTTP %d, want 303 to sign in", a.status)
	}
}

func httpServer(t *testing.T, s *web.Server) string {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestEventsAndPrevented: an open event stream hears of a rollback made
// through the API, and /metrics counts it as prevented.
func TestEventsAndPrevented(t *testing.T) {
	d := startDaemon(t, 1)
	b := newBrowser(t, d.url)
	b.signIn(viewerToken)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.url+"/events", nil)
	resp, err := (&http.Client{Jar: b.c.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	waitFor := func(prefix string) string {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return lines.Text()
			}
		}
		t.Fatalf("stream ended before %q: %v", prefix, lines.Err())
		return ""
	}
	waitFor("event: hello")
	if _, err := d.operator.Rollback(ctx, "svc", "", "api rollback"); err != nil {
		t.Fatal(err)
	}
	waitFor("event: change")
	if data := waitFor("data: "); !strings.Contains(data, `"svc"`) {
		t.Errorf("change %s does not name svc", data)
	}
	for {
		m := b.get("/metrics").body
		if strings.Contains(m, "ripcord_prevented_rollbacks_total 1") {
			if !strings.Contains(m, "ripcord_prevented_users_spared_estimate") || !strings.Contains(m, "ripcord_prevented_bad_version_requests_total") {
				t.Error("/metrics lacks the bad-version requests or users spared")
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/metrics never counted the rollback:\n%s", grep(m, "prevented"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
