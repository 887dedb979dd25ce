package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/netfault"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
)

// instrumented is a real backend exposing RED metrics the way services do
// with client_golang; its counters start at 0 so a new version's rate is
// defined from its first scrape.
type instrumented struct {
	*backend
}

func newInstrumented(t *testing.T, name string) *instrumented {
	reg := promclient.NewRegistry()
	reqs := promclient.NewCounterVec(promclient.CounterOpts{Name: "http_requests_total", Help: "Requests."}, []string{"version", "code"})
	reg.MustRegister(reqs)
	reqs.WithLabelValues(name, "200").Add(0)
	reqs.WithLabelValues(name, "500").Add(0)
	b := &backend{name: name}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if rand.Int64N(1000) < b.errPM.Load() {
			reqs.WithLabelValues(name, "500").Inc()
			http.Error(w, "injected", http.StatusInternalServerError)
			return
		}
		reqs.WithLabelValues(name, "200").Inc()
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return &instrumented{b}
}

func promSignals(url string) *prometheus.Config {
	return &prometheus.Config{
		URL: url, Job: promtest.Job, Timeout: 500 * time.Millisecond, Window: 5 * time.Second,
		Queries: map[string]string{"error_rate": `(sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{version="{{.Version}}"}[5s]))`},
		Samples: `sum(increase(http_requests_total{version="{{.Version}}"}[5s]))`,
	}
}

// promPolicy judges error_rate alone, as the peers' tuned configs do
// (Argo Rollouts: failureLimit 0; Flagger: threshold 1).
func promPolicy() config.Policy {
	p := fastPolicy()
	p.Require, p.Consecutive = 1, 1
	p.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptr(0.05)}}
	p.BlindGrace = time.Second
	return p
}

func startWithProm(t *testing.T, promURL string, v1 *instrumented) *env {
	t.Helper()
	e := &env{t: t, dbPath: t.TempDir() + "/r.db"}
	e.cfg = &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + e.dbPath},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: promPolicy(),
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}},
			Signals:  config.Signals{Providers: []config.Block{config.BlockOf("prometheus", promSignals(promURL))}}}}}
	e.boot()
	return e
}

func TestRollbackFromPromQLAlone(t *testing.T) {
	v1, v2 := newInstrumented(t, "v1"), newInstrumented(t, "v2")
	v2.failPerMille(300)
	prom := promtest.StartPrometheus(t, []string{host(v1.srv.URL), host(v2.srv.URL)}, time.Second)
	e := startWithProm(t, prom.URL, v1)
	stop := e.load(200)
	defer stop()
	e.waitFor("v1 healthy from Prometheus", 20*time.Second, func(s statusT) bool { return s.Verdict == "healthy" })
	e.deploy(v2.backend)
	s := e.waitFor("rollback from PromQL", 20*time.Second, active("v1"))
	inc := e.incident(s.IncidentID)
	if !strings.Contains(inc.Reason, "error_rate") || !strings.Contains(inc.Reason, "window 5s") {
		t.Fatalf("reason %q is not the Prometheus query's", inc.Reason)
	}
}

// TestPrometheusOutageNeverReverts: Prometheus refusing connections, then
// hanging, never causes a rollback; a blind incident opens within the grace
// period and resolves when data returns.
func TestPrometheusOutageNeverReverts(t *testing.T) {
	v1, v2 := newInstrumented(t, "v1"), newInstrumented(t, "v2")
	prom := promtest.StartPrometheus(t, []string{host(v1.srv.URL), host(v2.srv.URL)}, time.Second)
	fw, err := netfault.New(host(prom.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	e := startWithProm(t, "http://"+fw.Addr(), v1)
	stop := e.load(200)
	defer stop()
	e.deploy(v2.backend)
	e.waitFor("v2 healthy", 20*time.Second, func(s statusT) bool { return s.Verdict == "healthy" })
	for _, mode := range []netfault.Mode{netfault.Refuse, netfault.Hang} {
		fw.Set(mode)
		e.waitFor("blind", 10*time.Second, func(s statusT) bool { return s.Verdict == "blind" })
		blind := e.waitIncident(fmt.Sprintf("mode %d: a blind incident within the grace period", mode), 10*time.Second,
			func(i incident.Incident) bool { return i.Kind == incident.KindBlind && i.Status != incident.Resolved })
		fw.Set(netfault.Pass)
		e.waitFor("data back", 20*time.Second, func(s statusT) bool { return s.Verdict == "healthy" })
		if got := e.incident(blind.ID); got.Status != incident.Resolved {
			t.Fatalf("blind incident still %s after data returned", got.Status)
		}
	}
	if s := e.status(); s.Active != "v2" {
		t.Fatalf("a telemetry outage reverted the healthy version: %+v", s)
	}
	for _, i := range e.incidents() {
		if i.Kind != incident.KindBlind {
			t.Fatalf("unexpected %s incident %s", i.Kind, i.ID)
		}
	}
}

func host(url string) string {
	return strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
}
