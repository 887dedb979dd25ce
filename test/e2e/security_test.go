package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/localtoken"
)

// TestNoTokensMeansGeneratedAdminToken: a daemon without api.tokens is not
// open to every caller; it keeps a generated admin token in a 0600 file
// beside its store, reuses it after a restart, logs where it is (never what
// it is), and leaves a pointer by which a local CLI finds it.
func TestNoTokensMeansGeneratedAdminToken(t *testing.T) {
	logs := &syncBuffer{}
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	e.stop()
	e.logger = slog.New(slog.NewTextHandler(logs, nil))
	e.boot()
	tok, file := e.app.LocalToken()
	if want := filepath.Join(filepath.Dir(e.dbPath), "admin.token"); file != want || tok == "" {
		t.Fatalf("token file %q, want %q", file, want)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode: %v %v, want 0600", st.Mode(), err)
	}
	base := "http://" + e.app.APIAddr()
	var apiErr *apiclient.Error
	if _, err := apiclient.New(base, "").Services(t.Context()); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %v, want 401", err)
	}
	if _, err := apiclient.New(base, tok).Services(t.Context()); err != nil {
		t.Fatalf("generated token refused: %v", err)
	}
	found, foundFile, err := localtoken.Find(e.stateDir, e.app.APIAddr())
	if err != nil || found != tok || foundFile != file {
		t.Fatalf("pointer lookup: file %q, same token %v, err %v", foundFile, found == tok, err)
	}
	if !strings.Contains(logs.String(), file) || strings.Contains(logs.String(), tok) {
		t.Fatalf("the log must name the token file and never the token:\n%s", logs.String())
	}
	e.stop()
	if _, _, err := localtoken.Find(e.stateDir, strings.Replace(base, "http://", "", 1)); !errors.Is(err, localtoken.ErrNoLocalToken) {
		t.Fatalf("pointer left behind after stop: %v", err)
	}
	e.boot()
	if again, _ := e.app.LocalToken(); again != tok {
		t.Fatal("a restart generated a new token instead of reusing the file")
	}
}

// TestTokenlessAPIChecksTheBoundAddress: the loopback rule applies to the
// address actually bound, not to the configured name.
func TestTokenlessAPIChecksTheBoundAddress(t *testing.T) {
	for _, tt := range []struct {
		listen string
		ok     bool
	}{{"localhost:0", true}, {"0.0.0.0:0", false}, {"[::]:0", false}} {
		t.Run(tt.listen, func(t *testing.T) {
			cfg := minimalConfig(t, tt.listen)
			a, err := app.New(t.Context(), cfg, app.Options{StateDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			err = a.Start(t.Context())
			t.Cleanup(func() { _ = a.Stop(context.Background()) })
			switch {
			case tt.ok && err != nil:
				t.Fatalf("%s refused: %v", tt.listen, err)
			case tt.ok && !net.ParseIP(hostOf(a.APIAddr())).IsLoopback():
				t.Fatalf("%s bound %s", tt.listen, a.APIAddr())
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), "not a loopback address")):
				t.Fatalf("%s without tokens: err = %v, want a refusal naming loopback", tt.listen, err)
			}
		})
	}
}

func hostOf(hostport string) string { h, _, _ := net.SplitHostPort(hostport); return h }

func minimalConfig(t *testing.T, apiListen string) *config.Config {
	v1 := newBackend(t, "v1")
	return &config.Config{API: config.API{Listen: apiListen}, Store: config.Store{URL: "sqlite://" + filepath.Join(t.TempDir(), "r.db")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: fastPolicy(),
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}}}},
		Reports: config.Reports{Dir: t.TempDir()}}
}

// TestAPIRefusesWhatAWebPageCanSend: a cross-site request and a POST that is
// not JSON are refused before authentication; probes still reach /healthz
// and /metrics.
func TestAPIRefusesWhatAWebPageCanSend(t *testing.T) {
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	tok, _ := e.app.LocalToken()
	base := "http://" + e.app.APIAddr()
	send := func(method, path, ctype, site string) int {
		req, _ := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		method, path, ctype, site string
		want                      int
	}{
		{"POST", "/api/v1/services/svc/pause", "text/plain", "", http.StatusUnsupportedMediaType},
		{"POST", "/api/v1/services/svc/pause", "", "", http.StatusUnsupportedMediaType},
		{"POST", "/api/v1/services/svc/pause", "application/x-www-form-urlencoded", "", http.StatusUnsupportedMediaType},
		{"POST", "/api/v1/services/svc/pause", "application/json", "cross-site", http.StatusForbidden},
		{"GET", "/api/v1/services", "", "cross-site", http.StatusForbidden},
		{"POST", "/api/v1/services/svc/pause", "application/json; charset=utf-8", "same-origin", http.StatusOK},
		{"GET", "/api/v1/services", "", "none", http.StatusOK},
	} {
		if got := send(tt.method, tt.path, tt.ctype, tt.site); got != tt.want {
			t.Errorf("%s %s Content-Type %q Sec-Fetch-Site %q: HTTP %d, want %d", tt.method, tt.path, tt.ctype, tt.site, got, tt.want)
		}
	}
	for _, probe := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(base + probe)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: %v %v", probe, resp.StatusCode, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// TestDeployRefusesOwnListenersAndBadNames: a deploy may not point a version
// at ripcord's API or proxy (by IP, name or wildcard), and version names
// follow the config's rule.
func TestDeployRefusesOwnListenersAndBadNames(t *testing.T) {
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	ctx := t.Context()
	_, apiPort, _ := net.SplitHostPort(e.app.APIAddr())
	_, proxyPort, _ := net.SplitHostPort(e.app.ProxyAddr("svc"))
	for _, u := range []string{
		"http://" + e.app.APIAddr(),
		"http://" + e.app.ProxyAddr("svc") + "/x",
		"http://localhost:" + apiPort,
		"http://0.0.0.0:" + proxyPort,
		"http://user:pw@127.0.0.1:" + apiPort + "/?q=1",
	} {
		_, err := e.client.Deploy(ctx, "svc", "v2", u)
		var apiErr *apiclient.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "where ripcord listens") {
			t.Errorf("deploy to %s: %v, want 400 saying it points at ripcord", u, err)
		}
		if apiErr != nil && strings.Contains(apiErr.Message, "pw") {
			t.Errorf("the refusal quotes the URL's password: %s", apiErr.Message)
		}
	}
	v2 := newBackend(t, "v2")
	for _, name := range []string{"<img src=x onerror=alert(1)>", "../../etc", "v2\n", "v2\x1b[2J", ""} {
		_, err := e.client.Deploy(ctx, "svc", name, v2.srv.URL)
		var apiErr *apiclient.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.HasPrefix(apiErr.Message, "version: ") {
			t.Errorf("deploy of version %q: %v, want 400 on version", name, err)
		}
	}
	if s := e.status(); s.Active != "v1" || len(s.Versions) != 1 {
		t.Fatalf("a refused deploy changed the service: %+v", s)
	}
	if _, err := e.client.Deploy(ctx, "svc", "v2.1_rc-3", v2.srv.URL); err != nil {
		t.Fatalf("a good deploy: %v", err)
	}
}

// TestConfigVersionPointingAtRipcordIsRefused: the same rule for versions
// in the config, checked once the listeners are bound.
func TestConfigVersionPointingAtRipcordIsRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cfg := minimalConfig(t, addr)
	cfg.Services[0].Versions = append(cfg.Services[0].Versions, config.Version{Name: "v2", URL: "http://localhost:" + port})
	a, err := app.New(t.Context(), cfg, app.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Start(t.Context())
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	if !errors.Is(err, api.ErrSelfLoop) || !strings.Contains(err.Error(), "services[0].versions[1].url") {
		t.Fatalf("start with a version on the API port: %v, want a self-loop error naming the key", err)
	}
}

// TestPushAcceptsOnlyKnownMetricsAndVersions: everything else would be a
// new series kept in memory.
func TestPushAcceptsOnlyKnownMetricsAndVersions(t *testing.T) {
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	ctx := t.Context()
	for _, tt := range []struct {
		req  api.SignalsRequest
		want []string
	}{
		{api.SignalsRequest{Version: "v1", Samples: 10, Values: map[string]float64{"made_up_9f": 1}}, []string{"made_up_9f", "quality_score", "toxic_output_rate"}},
		{api.SignalsRequest{Version: "v7", Samples: 10, Values: map[string]float64{"quality_score": 1}}, []string{"v7", "v1"}},
	} {
		err := e.client.PushSignals(ctx, "svc", tt.req)
		var apiErr *apiclient.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
			t.Fatalf("push %+v: %v, want 400", tt.req, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(apiErr.Message, w) {
				t.Errorf("push %+v: %q does not name %q", tt.req, apiErr.Message, w)
			}
		}
	}
	if err := e.client.PushSignals(ctx, "svc", api.SignalsRequest{Version: "v1", Samples: 10, Values: map[string]float64{"quality_score": 0.9}}); err != nil {
		t.Fatalf("a good push: %v", err)
	}
}

// TestVersionURLSecretsAreMasked: a version URL with credentials and a
// query is accepted and served, but the API shows neither, to any role,
// and the log never has the password.
func TestVersionURLSecretsAreMasked(t *testing.T) {
	logs := &syncBuffer{}
	got := make(chan [2]string, 10)
	v2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- [2]string{r.Header.Get("Authorization"), r.URL.RawQuery}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(v2.Close)
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	e.stop()
	e.logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.boot()
	secretURL := strings.Replace(v2.URL, "http://", "http://deploy:hunter2-pw@", 1) + "/?api_key=q-s3cr3t"
	st, err := e.client.Deploy(t.Context(), "svc", "v2", secretURL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + e.app.ProxyAddr("svc") + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-got // the version served it (the switch's use of userinfo and query is the proxy's to test)
	list, err := e.client.Services(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, shown := range []string{st.Versions[1].URL, list[0].Versions[1].URL} {
		if strings.Contains(shown, "hunter2") || strings.Contains(shown, "q-s3cr3t") || !strings.Contains(shown, "deploy:***@") || !strings.Contains(shown, "api_key=***") {
			t.Errorf("API shows %q", shown)
		}
	}
	e.stop()
	if strings.Contains(logs.String(), "hunter2") {
		t.Error("the log has the version URL's password")
	}
}

// TestAPIClosesStalledClients: a client that never finishes its headers is
// disconnected (ReadHeaderTimeout) instead of holding a connection for
// good. The wait is for the close, bounded generously; no duration is
// asserted.
func TestAPIClosesStalledClients(t *testing.T) {
	e := start(t, fastPolicy(), newBackend(t, "v1"))
	c, err := net.Dial("tcp", e.app.APIAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil { // no final CRLF
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the API kept a client that never finished its headers for a minute")
	}
}
