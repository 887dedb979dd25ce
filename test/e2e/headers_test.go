package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
)

// scored is a backend that grades its own answers in a response header.
func scored(t *testing.T, name, score string) *backend {
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Quality-Score", score)
		_, _ = io.WriteString(w, `{"answer":"4"}`)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// TestQualityFromResponseHeaders: the switch averages X-Quality-Score per
// version; answers graded 0.3 roll the version back, with no pipeline.
func TestQualityFromResponseHeaders(t *testing.T) {
	pol := fastPolicy()
	pol.Require = 1
	pol.Thresholds = map[string]config.Threshold{"quality_score": {Min: ptr(0.75), Critical: ptr(0.5)}}
	e := &env{t: t, dbPath: t.TempDir() + "/r.db"}
	v1 := scored(t, "v1", "0.91")
	e.cfg = &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + e.dbPath},
		Reports: config.Reports{Dir: t.TempDir()},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}},
			Signals:  config.Signals{Headers: map[string]string{"quality_score": "X-Quality-Score"}}}}}
	e.boot()
	stop := e.load(200)
	defer stop()
	e.waitFor("v1 healthy on header scores", 10*time.Second, func(s statusT) bool { return s.Verdict == "healthy" })
	e.deploy(scored(t, "v2", "0.3"))
	s := e.waitFor("rollback on header scores", 10*time.Second, active("v1"))
	if r := e.incident(s.IncidentID).Reason; !strings.Contains(r, "quality_score 0.30 < critical 0.50") {
		t.Fatalf("reason %q", r)
	}
}
