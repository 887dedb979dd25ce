package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
)

// The daemon's tokens, one per role.
const (
	viewerToken   = "web-viewer-token-0123456789abcdef"
	operatorToken = "web-operator-token-0123456789abcdef"
)

// daemon is a real `ripcord serve` in-process: the app on a SQLite file,
// the API and dashboard on one loopback listener, each service's switch in
// front of real HTTP backends.
type daemon struct {
	t        *testing.T
	cfg      *config.Config
	app      *app.App
	url      string
	operator *apiclient.Client
}

func backend(t *testing.T, name string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// startDaemon runs n services (svc-000, …; with n == 1 just "svc"), each
// with versions v1 and v2, v2 active.
func startDaemon(t *testing.T, n int) *daemon {
	t.Helper()
	return startDaemonWith(t, n, nil)
}

// startDaemonWith is startDaemon with the config changed by edit first.
func startDaemonWith(t *testing.T, n int, edit func(*config.Config)) *daemon {
	t.Helper()
	dir := t.TempDir()
	v1, v2 := backend(t, "v1"), backend(t, "v2")
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{
		{Name: "vera", Role: config.RoleViewer, Value: viewerToken},
		{Name: "otto", Role: config.RoleOperator, Value: operatorToken},
	}}, Store: config.Store{URL: "sqlite://" + filepath.Join(dir, "ripcord.db")}, Reports: config.Reports{Dir: filepath.Join(dir, "reports")}}
	for i := range n {
		name := "svc"
		if n > 1 {
			name = fmt.Sprintf("svc-%03d", i)
		}
		cfg.Services = append(cfg.Services, config.Service{Name: name, Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Policy: config.DefaultPolicy(),
			Active: "v2", Versions: []config.Version{{Name: "v1", URL: v1}, {Name: "v2", URL: v2}}})
	}
	if edit != nil {
		edit(cfg)
	}
	d := &daemon{t: t, cfg: cfg}
	d.boot()
	t.Cleanup(d.stop)
	return d
}

func (d *daemon) boot() {
	d.t.Helper()
	a, err := app.New(context.Background(), d.cfg, app.Options{StateDir: d.t.TempDir()})
	if err != nil {
		d.t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		d.t.Fatal(err)
	}
	d.app = a
	d.url = "http://" + a.APIAddr()
	d.operator = apiclient.New(d.url, operatorToken)
}

// restart stops the daemon and starts it again on the same file and the
// same addresses, as a supervisor would.
func (d *daemon) restart() {
	d.t.Helper()
	d.cfg.API.Listen = d.app.APIAddr()
	for i := range d.cfg.Services {
		d.cfg.Services[i].Proxy.Listen = d.app.ProxyAddr(d.cfg.Services[i].Name)
	}
	d.stop()
	d.boot()
}

func (d *daemon) stop() {
	if d.app == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.app.Stop(ctx); err != nil {
		d.t.Errorf("stop: %v", err)
	}
	d.app = nil
}

// browser is a Go HTTP client with a cookie jar that does not follow
// redirects, so a test sees each answer.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, headers ...string) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(data)}
}

func (b *browser) get(path string) answer { b.t.Helper(); return b.do(http.MethodGet, path, nil) }

// signIn posts the token to /login and requires the redirect home.
func (b *browser) signIn(token string) {
	b.t.Helper()
	a := b.do(http.MethodPost, "/login", url.Values{"token": {token}, "next": {"/"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
		b.t.Fatalf("sign-in: HTTP %d to %q, want 303 to /: %s", a.status, a.header.Get("Location"), a.body)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token a page of this session carries.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(b.get("/").body)
	if m == nil {
		b.t.Fatal("no CSRF token on the services page")
	}
	return m[1]
}

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
