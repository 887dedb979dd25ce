package prometheus_bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
)

// Argo Rollouts tuned to its limit (interval 1s, failureLimit 0), measured
// on this machine with the same exporter, Prometheus and query (issue 11).
var argo = map[time.Duration]float64{time.Second: 1.38, 5 * time.Second: 8.7}

// TestPeersScenario is the peers' scenario: a warm version — deployed,
// serving healthy traffic past bake — starts failing 30% of its requests
// at a random moment; onset → traffic switched, from Prometheus alone, at
// 1 s and 5 s scrapes, for today's windowed query (error ratio over
// rate[5s] / rate[20s] > 5%) and for counts mode (the requests each scrape
// adds), runs of the two modes interleaved. Policy: require 1,
// consecutive 1, error_rate max 5%, default confidence and alpha.
//
// RUNS (default 10) runs per mode and scrape; WARM (default 15s) is how
// long v2 serves healthy traffic after its deploy (bake is 5s).
func TestPeersScenario(t *testing.T) {
	gate(t)
	runs := 10
	if n, err := strconv.Atoi(os.Getenv("RUNS")); err == nil && n > 0 {
		runs = n
	}
	warm := 15 * time.Second
	if d, err := time.ParseDuration(os.Getenv("WARM")); err == nil {
		warm = d
	}
	scrapes := []time.Duration{time.Second, 5 * time.Second}
	if s := os.Getenv("SCRAPES"); s != "" {
		scrapes = nil
		for _, f := range strings.Split(s, ",") {
			d, err := time.ParseDuration(f)
			if err != nil {
				t.Fatal(err)
			}
			scrapes = append(scrapes, d)
		}
	}
	for _, scrape := range scrapes {
		rng := "5s"
		if scrape >= 5*time.Second {
			rng = "20s"
		}
		v1 := newBackend(t, "v1", 0)
		targets := []string{host(v1.srv.URL)}
		bad := map[string][]*backend{}
		for _, mode := range []string{"windowed", "counts"} {
			for i := range runs {
				b := newBackend(t, fmt.Sprintf("%s-%d", mode, i), 0)
				bad[mode] = append(bad[mode], b)
				targets = append(targets, host(b.srv.URL))
			}
		}
		prom := promtest.StartPrometheus(t, targets, scrape)
		took := map[string][]float64{}
		for i := range runs {
			for _, mode := range []string{"windowed", "counts"} {
				d := peersRun(t, prom.URL, mode, rng, scrape, warm, v1, bad[mode][i])
				took[mode] = append(took[mode], d)
				fmt.Printf("scrape %s %-8s run %2d: onset → switched %.2fs\n", scrape, mode, i+1, d)
			}
		}
		for _, mode := range []string{"windowed", "counts"} {
			xs := took[mode]
			slices.Sort(xs)
			label := mode + " rate[" + rng + "]"
			if mode == "counts" {
				label = "counts"
			}
			fmt.Printf("peers scrape %-3s %-17s runs %d  median %.2fs  min %.2fs  max %.2fs  (Argo tuned %.2fs: %.2f×)\n",
				scrape, label, len(xs), xs[len(xs)/2], xs[0], xs[len(xs)-1], argo[scrape], xs[len(xs)/2]/argo[scrape])
		}
	}
}

// peersRun deploys v2 healthy, lets it serve for warm, starts its fault at
// a random moment within one scrape interval, and returns onset → switch.
func peersRun(t *testing.T, promURL, mode, rng string, scrape, warm time.Duration, v1, v2 *backend) float64 {
	a := peersDaemon(t, promURL, mode, rng, v1)
	defer func() { _ = a.Stop(context.Background()) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go load(ctx, "http://"+a.ProxyAddr("svc")+"/", 200)
	svc := a.Service("svc")
	waitFor(t, "v1 healthy", 60*time.Second, func() bool { return svc.Status().Verdict == "healthy" })
	if err := svc.Deploy(ctx, v2.name, v2.srv.URL, "bench"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(warm + time.Duration(rand.Int64N(int64(scrape))))
	if st := svc.Status(); st.Active != v2.name || st.State != "stable" {
		t.Fatalf("v2 not warm and stable before the fault: active %s, state %s, verdict %s", st.Active, st.State, st.Verdict)
	}
	onset := time.Now()
	v2.errs.Store(300)
	waitFor(t, "rollback", 60*time.Second, func() bool { return svc.Status().Active == "v1" })
	done := switchedAt(t, a.Store())
	if os.Getenv("PEERS_DEBUG") != "" {
		scrapesAfter(t, promURL, v2.name, onset, done)
	}
	return done.Sub(onset).Seconds()
}

// scrapesAfter prints, for each scrape of v2 from just before onset to the
// switch, its timestamp (when the scrape began) relative to onset and what
// it added: where the time went.
func scrapesAfter(t *testing.T, promURL, version string, onset, done time.Time) {
	c, err := promapi.NewClient(promapi.Config{Address: promURL})
	if err != nil {
		t.Fatal(err)
	}
	span := done.Sub(onset) + 3*time.Second
	q := `http_requests_total{version="` + version + `"}[` + model.Duration(span.Round(time.Second)).String() + `]`
	v, _, _, err := promv1.NewAPI(c).Query(context.Background(), q, done)
	if err != nil {
		t.Logf("scrapes: %v", err)
		return
	}
	type at struct{ total, bad float64 }
	byTS := map[model.Time]*at{}
	var keys []model.Time
	for _, ss := range v.(model.Matrix) {
		for _, p := range ss.Values {
			if byTS[p.Timestamp] == nil {
				byTS[p.Timestamp] = &at{}
				keys = append(keys, p.Timestamp)
			}
			byTS[p.Timestamp].total += float64(p.Value)
			if ss.Metric["code"] == "500" {
				byTS[p.Timestamp].bad += float64(p.Value)
			}
		}
	}
	slices.Sort(keys)
	line := ""
	for i := 1; i < len(keys); i++ {
		cur, prev := byTS[keys[i]], byTS[keys[i-1]]
		if rel := keys[i].Time().Sub(onset); rel > -1500*time.Millisecond {
			line += fmt.Sprintf("  [%+.3fs +%.0f req, %.0f bad]", rel.Seconds(), cur.total-prev.total, cur.bad-prev.bad)
		}
	}
	fmt.Printf("    scrapes (began at, from onset):%s  switched %+.3fs\n", line, done.Sub(onset).Seconds())
}

// peersDaemon is daemon with bake 5s and, in counts mode, the counters
// instead of the windowed ratio.
func peersDaemon(t *testing.T, promURL, mode, rng string, v1 *backend) *app.App {
	pol := config.DefaultPolicy()
	pol.Require, pol.Consecutive = 1, 1
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptr(0.05)}}
	pol.BlindGrace, pol.Bake = 10*time.Second, 5*time.Second
	pc := prometheus.Config{URL: promURL, Job: promtest.Job, Timeout: time.Second}
	if mode == "counts" {
		pc.Counts = map[string]prometheus.Counter{"error_rate": {
			Total: `http_requests_total{version="{{.Version}}"}`,
			Bad:   `http_requests_total{version="{{.Version}}",code=~"5.."}`}}
	} else {
		q := func(code string) string {
			return `sum(rate(http_requests_total{version="{{.Version}}"` + code + `}[` + rng + `]))`
		}
		pc.Queries = map[string]string{"error_rate": "(" + q(`,code=~"5.."`) + " or vector(0)) / " + q("")}
		pc.Samples = `sum(increase(http_requests_total{version="{{.Version}}"}[` + rng + `]))`
	}
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"},
		Store: config.Store{URL: "sqlite://" + filepath.Join(t.TempDir(), "b.db")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}},
			Signals:  config.Signals{Providers: []config.Block{config.BlockOf("prometheus", pc)}}}}}
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}
