package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert/proxyswitch"
	"github.com/ripcord/ripcord/internal/signal/push"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// The fixture's tokens, one per role.
const (
	viewerToken   = "fixture-viewer-token-0123456789"
	operatorToken = "fixture-operator-token-0123456789"
	adminToken    = "fixture-admin-token-0123456789"
)

var fixtureTokens = []config.Token{
	{Name: "dash", Role: config.RoleViewer, Value: viewerToken},
	{Name: "sre", Role: config.RoleOperator, Value: operatorToken},
	{Name: "root", Role: config.RoleAdmin, Value: adminToken},
}

// fixture is a real API in front of one real service: a controller on an
// in-memory SQLite store whose traffic switch (proxy.Switch, served over
// HTTP) relays to real version backends that answer with their name.
type fixture struct {
	url      string // the API
	proxyURL string // the service's switch
	backends map[string]string
	store    store.Store
	push     *push.Store
	svc      *controller.Service
	handler  http.Handler // the API's, for in-process requests (fuzzing)
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{store: st, push: push.New(time.Minute), backends: map[string]string{}}
	for _, v := range []string{"v0", "v1", "v2"} {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, v) }))
		t.Cleanup(b.Close)
		f.backends[v] = b.URL
	}
	sw := proxy.New(proxy.Options{Service: "svc"})
	t.Cleanup(func() { _ = sw.Close() })
	ps := httptest.NewServer(sw)
	t.Cleanup(ps.Close)
	f.proxyURL = ps.URL
	cfg := config.Service{Name: "svc", Active: "v1", Policy: config.DefaultPolicy(), Versions: []config.Version{
		{Name: "v0", URL: f.backends["v0"]},
		// Credentials in a version URL: the API must never show them.
		{Name: "v1", URL: strings.Replace(f.backends["v1"], "http://", "http://deploy:pw-s3cret@", 1) + "/?key=q-s3cret"},
	}}
	f.svc = controller.New(cfg, controller.Deps{Store: st, Target: proxyswitch.New(sw), Router: sw})
	if err := f.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var listeners []netip.AddrPort
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = api.New(api.Options{Services: []*controller.Service{f.svc}, Store: st, Push: f.push, Tokens: fixtureTokens,
		Metrics:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ripcord_up 1\n") }),
		Listeners: func() []netip.AddrPort { return listeners }}).Handler()
	f.handler = srv.Config.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	for _, u := range []string{srv.URL, ps.URL} {
		listeners = append(listeners, netip.MustParseAddrPort(strings.TrimPrefix(u, "http://")))
	}
	f.url = srv.URL
	return f
}

// reply is one HTTP exchange with the API.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    api.Error // decoded when the body is an error
}

// do sends method path with token (none when ""), a JSON body when body is
// not nil (a string is sent as is), and extra headers as "Key: value".
func (f *fixture) do(t *testing.T, method, path, token string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: data}
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &r.err); err != nil || r.err.Code == "" || r.err.Error == "" {
			t.Fatalf("%s %s: HTTP %d with a body that is not an API error: %q", method, path, resp.StatusCode, data)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: error served as %q", method, path, ct)
		}
	}
	return r
}

// decodeInto unmarshals a successful reply.
func (r reply) decodeInto(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("HTTP %d body %q: %v", r.status, r.body, err)
	}
}

// through fetches / through the service's switch and returns which version
// answered.
func (f *fixture) through(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(f.proxyURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// storeFilterAll lists every incident.
var storeFilterAll = store.IncidentFilter{}
