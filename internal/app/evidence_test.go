package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
)

// The controller reaches the switch's bound counting through a type
// assertion on deps.Router: in the real wiring a watch's latency bounds
// must arrive at the switch, and its counts at the guard (a wrapper around
// the switch would silently leave latency to the windowed rule).
func TestWatchTellsTheSwitchItsBounds(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	pol := config.DefaultPolicy()
	p99, crit := 3000.0, 10000.0
	pol.Thresholds = map[string]config.Threshold{"latency_p99_ms": {Max: &p99, Critical: &crit}}
	dir := t.TempDir()
	cfg := &config.Config{
		API:   config.API{Listen: "127.0.0.1:0"},
		Store: config.Store{URL: "sqlite://" + filepath.Join(dir, "ripcord.db")},
		Services: []config.Service{{
			Name:     "svc",
			Proxy:    config.Proxy{Listen: "127.0.0.1:0", RetryOnPrevious: config.RetryOnPrevious{MaxBodyBytes: config.DefaultMaxBodyBytes}},
			Versions: []config.Version{{Name: "v1", URL: backend.URL}},
			Active:   "v1",
			Policy:   pol,
		}},
	}
	a, err := New(t.Context(), cfg, Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(t.Context())
	resp, err := http.Get("http://" + a.ProxyAddr("svc") + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a.Service("svc").Tick(t.Context()) // the watch's guard starts here, if it has not yet
	now := time.Now()
	c := a.Switch("svc").Stats("v1", now.Add(-time.Minute), now).Cumulative
	for _, b := range []float64{p99, crit} {
		if _, ok := c.Bound(false, b); !ok {
			t.Errorf("the switch does not count latency above %v ms: %+v", b, c.Bounds)
		}
	}
	if c.Requests < 1 {
		t.Errorf("cumulative requests = %d, want the one sent", c.Requests)
	}
	if st := a.Service("svc").Status(); st.Active != "v1" {
		t.Fatalf("status %+v", st)
	}
}
