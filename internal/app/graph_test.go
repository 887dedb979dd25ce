package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/notify/slack"
)

const apiToken = "graph-test-token-0123456789abcdef0123456789"

// graphConfig is a Go-built config, as the demo and tests build them:
// nothing has gone through config.Validate, so New and Start are the last
// line that must name the offending field.
func graphConfig(t *testing.T) *config.Config {
	t.Helper()
	return &config.Config{
		API:   config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{{Name: "ci", Role: config.RoleAdmin, Value: apiToken}}},
		Store: config.Store{URL: "sqlite://" + filepath.Join(t.TempDir(), "ripcord.db")},
		Services: []config.Service{
			{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: config.DefaultPolicy(),
				Versions: []config.Version{{Name: "v1", URL: "http://127.0.0.1:9001"}, {Name: "v2", URL: "http://127.0.0.1:9002"}}},
			{Name: "second", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: config.DefaultPolicy(),
				Versions: []config.Version{{Name: "v1", URL: "http://127.0.0.1:9101"}}},
		},
	}
}

// TestNewNamesTheField: each way a config cannot become a component graph
// fails New with an error that says where in the config the problem is.
func TestNewNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(t *testing.T, c *config.Config, o *Options)
		want string
	}{
		{"postgres store with an inline password", func(_ *testing.T, c *config.Config, _ *Options) {
			c.Store.URL = "postgres://u:hunter2@127.0.0.1:1/ripcord"
		}, "app: store.url: holds a password written into the config file"},
		{"unreachable postgres store", func(t *testing.T, c *config.Config, _ *Options) {
			t.Setenv("RIPCORD_TEST_PG_PW", "hunter2")
			c.Store.URL = "postgres://u:${RIPCORD_TEST_PG_PW}@127.0.0.1:1/ripcord?connect_timeout=2"
		}, "app: open store postgres://u:***@127.0.0.1:1/ripcord?***: postgres: open database ripcord on 127.0.0.1:1"},
		{"store without path", func(_ *testing.T, c *config.Config, _ *Options) { c.Store.URL = "sqlite://" },
			"app: store.url: sqlite:// needs a file path"},
		{"store in a missing directory", func(t *testing.T, c *config.Config, _ *Options) {
			c.Store.URL = "sqlite://" + filepath.Join(t.TempDir(), "gone", "x.db")
		}, "app: open store: sqlite: open "},
		{"trusted proxy", func(_ *testing.T, c *config.Config, _ *Options) {
			c.Services[0].Proxy.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.1"}
		}, "app: service svc: proxy.trusted_proxies[1]: "},
		{"second service's trusted proxy", func(_ *testing.T, c *config.Config, _ *Options) {
			c.Services[1].Proxy.TrustedProxies = []string{"lb.internal"}
		}, "app: service second: proxy.trusted_proxies[0]: "},
		{"channel with no kind", func(_ *testing.T, c *config.Config, _ *Options) {
			c.Notify = config.Notify{Channels: []config.Channel{{Name: "pager"}},
				Routes: []config.Route{{Channel: "pager", MinSeverity: "critical"}}}
		}, "app: notify channel pager: sets 0 channel kinds, want exactly one"},
		{"unknown channel kind", func(_ *testing.T, c *config.Config, _ *Options) {
			c.Notify = config.Notify{Channels: []config.Channel{{Name: "pigeon", Providers: []config.Block{config.BlockOf("carrier", slack.Config{})}}},
				Routes: []config.Route{{Channel: "pigeon", MinSeverity: "minor"}}}
		}, "app: notify channel pigeon: carrier: no such channel kind"},
		{"generated token with an unusable state dir", func(t *testing.T, c *config.Config, o *Options) {
			c.API.Tokens, c.Store.URL = nil, "sqlite://:memory:"
			file := filepath.Join(t.TempDir(), "not-a-dir")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			o.StateDir = file
		}, "app: api.tokens: none configured, so ripcord keeps its own admin token, but "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, o := graphConfig(t), Options{}
			tc.mut(t, cfg, &o)
			a, err := New(t.Context(), cfg, o)
			if err == nil {
				_ = a.Stop(t.Context())
				t.Fatal("New accepted the config")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), apiToken) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// occupied holds a loopback port for the test's duration.
func occupied(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestStartNamesTheField: problems only binding reveals (a port in use, a
// wildcard bind without tokens, a version URL that is ripcord itself) fail
// Start naming the key, and leave nothing listening.
func TestStartNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mut    func(t *testing.T, c *config.Config)
		want   string
		target error
	}{
		{"proxy port in use", func(t *testing.T, c *config.Config) { c.Services[1].Proxy.Listen = occupied(t) },
			"app: service second: proxy.listen 127.0.0.1:", nil},
		{"api port in use", func(t *testing.T, c *config.Config) { c.API.Listen = occupied(t) },
			"app: api.listen 127.0.0.1:", nil},
		{"generated token on a wildcard address", func(_ *testing.T, c *config.Config) {
			c.API.Tokens, c.API.Listen = nil, "0.0.0.0:0"
		}, "which is not a loopback address, and no api.tokens are configured", nil},
		{"version url is the api", func(t *testing.T, c *config.Config) {
			c.API.Listen = freePort(t)
			c.Services[0].Versions[1].URL = "http://" + c.API.Listen + "/v2"
		}, "app: services[0].versions[1].url (svc v2): ", api.ErrSelfLoop},
		{"version url is its own proxy", func(t *testing.T, c *config.Config) {
			c.Services[1].Proxy.Listen = freePort(t)
			c.Services[1].Versions[0].URL = "http://" + c.Services[1].Proxy.Listen
		}, "app: services[1].versions[0].url (second v1): ", api.ErrSelfLoop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := graphConfig(t)
			tc.mut(t, cfg)
			a, err := New(t.Context(), cfg, Options{StateDir: t.TempDir()})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = a.Start(t.Context())
			stopErr := a.Stop(t.Context())
			if err == nil {
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("err = %v, want it to wrap %v", err, tc.target)
			}
			if stopErr != nil {
				t.Errorf("Stop after a failed Start: %v", stopErr)
			}
			// Every listener Start bound was released: the configured
			// fixed ports can be bound again.
			for _, addr := range []string{cfg.API.Listen, cfg.Services[0].Proxy.Listen, cfg.Services[1].Proxy.Listen} {
				if strings.HasSuffix(addr, ":0") || tc.name == "proxy port in use" && addr == cfg.Services[1].Proxy.Listen ||
					tc.name == "api port in use" && addr == cfg.API.Listen {
					continue
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("%s still bound after the failed Start: %v", addr, err)
					continue
				}
				ln.Close()
			}
		})
	}
}

// TestStartAndStopReleaseEverything: a good config starts, its listeners
// answer, and Stop releases them and the store, so a restart on the same
// file and ports works — twice.
func TestStartAndStopReleaseEverything(t *testing.T) {
	cfg := graphConfig(t)
	cfg.API.Listen = freePort(t)
	cfg.Services[0].Proxy.Listen = freePort(t)
	for round := range 2 {
		a, err := New(t.Context(), cfg, Options{StateDir: t.TempDir()})
		if err != nil {
			t.Fatalf("round %d: New: %v", round, err)
		}
		if err := a.Start(t.Context()); err != nil {
			t.Fatalf("round %d: Start: %v", round, err)
		}
		if a.APIAddr() != cfg.API.Listen || a.ProxyAddr("svc") != cfg.Services[0].Proxy.Listen || a.ProxyAddr("second") == "" {
			t.Errorf("round %d: addresses api %s svc %s second %s", round, a.APIAddr(), a.ProxyAddr("svc"), a.ProxyAddr("second"))
		}
		if a.Service("svc") == nil || a.Switch("svc") == nil || a.Service("nope") != nil || a.Switch("nope") != nil {
			t.Errorf("round %d: component lookup", round)
		}
		resp, err := newClient().Get(fmt.Sprintf("http://%s/healthz", a.APIAddr()))
		if err != nil {
			t.Fatalf("round %d: healthz: %v", round, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("round %d: healthz %d", round, resp.StatusCode)
		}
		if err := a.Stop(t.Context()); err != nil {
			t.Fatalf("round %d: Stop: %v", round, err)
		}
	}
}

func newClient() *http.Client { return &http.Client{Timeout: 5 * time.Second} }

// TestProxyOptionsMapTheSchema: the switch takes its own option types (it
// imports no ripcord package), so every proxy key must arrive, trusted
// CIDRs normalised to their network and retention covering two windows.
func TestProxyOptionsMapTheSchema(t *testing.T) {
	sc := graphConfig(t).Services[0]
	sc.Proxy.TrustedProxies = []string{"10.1.2.3/8", "192.168.0.0/16", "::ffff:10.0.0.1/104", "2001:db8::1/32"}
	sc.Proxy.RetryOnPrevious = config.RetryOnPrevious{Enabled: true, MaxBodyBytes: 4096, NonIdempotent: true}
	sc.Proxy.BodyTimeout, sc.Proxy.MaxConns = 7*time.Second, 321
	sc.Signals.Headers = map[string]string{"quality_score": "X-Quality"}
	for _, tc := range []struct {
		window, retention time.Duration
	}{{10 * time.Second, time.Minute}, {30 * time.Second, time.Minute}, {45 * time.Second, 90 * time.Second}, {5 * time.Minute, 10 * time.Minute}} {
		sc.Policy.Window = tc.window
		o, err := proxyOptions(&sc, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if o.Retention != tc.retention {
			t.Errorf("window %v: retention %v, want %v", tc.window, o.Retention, tc.retention)
		}
		var cidrs []string
		for _, p := range o.TrustedProxies {
			cidrs = append(cidrs, p.String())
		}
		if got := strings.Join(cidrs, " "); got != "10.0.0.0/8 192.168.0.0/16 ::ffff:10.0.0.0/104 2001:db8::/32" {
			t.Errorf("trusted proxies = %s", got)
		}
		if o.Service != "svc" || !o.Retry.Enabled || o.Retry.MaxBodyBytes != 4096 || !o.Retry.NonIdempotent ||
			o.BodyTimeout != 7*time.Second || o.MaxConns != 321 || o.Headers["quality_score"] != "X-Quality" || o.Logger == nil {
			t.Errorf("options = %+v", o)
		}
	}
}
