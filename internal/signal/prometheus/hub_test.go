package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/prometheus/promtest"
	"github.com/ripcord/ripcord/internal/testenv"
)

// counters is an exporter of http_requests_total by service, version and
// code, set by the test.
type counters struct {
	mu sync.Mutex
	v  map[[3]string]float64
}

func (c *counters) add(service, version, code string, n float64) {
	c.mu.Lock()
	c.v[[3]string{service, version, code}] += n
	c.mu.Unlock()
}

func (c *counters) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintln(w, "# TYPE http_requests_total counter")
	for k, v := range c.v {
		fmt.Fprintf(w, "http_requests_total{service=%q,version=%q,code=%q} %g\n", k[0], k[1], k[2], v)
	}
}

// queryLog is a reverse proxy to Prometheus that keeps every query.
type queryLog struct {
	mu sync.Mutex
	qs []string
}

func (l *queryLog) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, q := range l.qs {
		if strings.Contains(q, substr) {
			n++
		}
	}
	return n
}

// TestHubBatchesAJob: three services on one job share one scrape watch,
// and after each one's first (own) read, one query per scrape reads all of
// their counts; the tallies are what each service's own reads would have
// been — every request once, nothing of the others'.
func TestHubBatchesAJob(t *testing.T) {
	testenv.Heavy(t, "starts a real Prometheus")
	exp := &counters{v: map[[3]string]float64{}}
	svcs := []string{"a", "b.c", "d"}
	for _, s := range svcs {
		exp.add(s, "v1", "200", 100)
		exp.add(s, "v2", "200", 7) // another version, never read
	}
	ts := httptest.NewServer(exp)
	defer ts.Close()
	prom := promtest.StartPrometheus(t, []string{strings.TrimPrefix(ts.URL, "http://")}, 300*time.Millisecond)
	target, _ := url.Parse(prom.URL)
	log := &queryLog{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = stdlog.New(io.Discard, "", 0) // Prometheus is killed on purpose
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil && r.Form.Get("query") != "" {
			log.mu.Lock()
			log.qs = append(log.qs, r.Form.Get("query"))
			log.mu.Unlock()
			r.Body = http.NoBody
			r.ContentLength = 0
			r.URL.RawQuery = r.Form.Encode()
			r.Method = http.MethodGet
		}
		rp.ServeHTTP(w, r)
	}))
	defer front.Close()

	hub := prometheus.NewHub(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gates := map[string]*prometheus.Gated{}
	fired := map[string]<-chan time.Time{}
	for _, s := range svcs {
		src, err := prometheus.New(map[string]prometheus.Config{s: {URL: front.URL, Job: promtest.Job,
			Counts: map[string]prometheus.Counter{signal.ErrorRate: {
				Total: `sum(http_requests_total{service="{{.Service}}",version="{{.Version}}"})`,
				Bad:   `sum(http_requests_total{service="{{.Service}}",version="{{.Version}}",code=~"5.."}) or vector(0)`,
			}}}})
		if err != nil {
			t.Fatal(err)
		}
		gates[s] = hub.Gate(src)
		fired[s] = gates[s].Watch(ctx, s)
	}
	wait := func() { // one landing seen by every service
		t.Helper()
		for _, s := range svcs {
			select {
			case <-fired[s]:
			case <-ctx.Done():
				t.Fatalf("%s: no scrape landed", s)
			}
		}
	}
	read := func(s string) (signal.Sample, error) {
		return gates[s].Read(ctx, signal.Query{Service: s, Version: "v1", Metric: signal.ErrorRate,
			Since: time.Now().Add(-time.Minute), At: time.Now()})
	}
	wait()
	for _, s := range svcs {
		_, _ = read(s) // the base, read alone
	}
	if n := log.count("timestamp(up"); n < 1 {
		t.Fatalf("no scrape watch query")
	}
	alone := log.count(`service="`)
	if alone != len(svcs) {
		t.Fatalf("%d queries of one service, want %d (the bases)", alone, len(svcs))
	}
	exp.add("a", "v1", "200", 40)
	exp.add("a", "v1", "500", 10)
	exp.add("b.c", "v1", "200", 20)
	exp.add("d", "v1", "200", 5)
	exp.add("d", "v2", "500", 1000) // not d's v1
	want := map[string]signal.Count{"a": {N: 50, Bad: 10}, "b.c": {N: 20}, "d": {N: 5}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		wait()
		done := true
		for _, s := range svcs {
			smp, err := read(s)
			if err != nil || smp.Counts[0] != want[s] {
				done = false
				if err == nil && (smp.Counts[0].N > want[s].N || smp.Counts[0].Bad > want[s].Bad) {
					t.Fatalf("%s: counts %+v, more than the %+v sent", s, smp.Counts[0], want[s])
				}
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			for _, s := range svcs {
				smp, err := read(s)
				t.Logf("%s: %+v %v", s, smp.Counts, err)
			}
			t.Fatalf("the counts never caught up; stats %+v, last queries %q", hub.Stats(), log.qs[max(0, len(log.qs)-4):])
		}
	}
	if n := log.count(`service="`); n != alone {
		t.Errorf("%d more queries of one service after the bases; the batch reads them", n-alone)
	}
	if n := log.count(`service=~"a|b\\.c|d"`); n == 0 {
		t.Errorf("no batched query; queries: %q", log.qs)
	}
	if st := hub.Stats(); st.Members < 3*st.Queries || st.Alone != 0 {
		t.Errorf("stats %+v: want 3 members a query, none alone", st)
	}
	// Prometheus gone: every read says no data, and none of them asks
	// Prometheus alone (one failing watch question stands for them all).
	prom.Kill()
	for _, s := range svcs {
		for {
			if _, err := read(s); errors.Is(err, signal.ErrNoData) {
				break
			}
			select {
			case <-fired[s]:
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				t.Fatalf("%s: reads kept answering with Prometheus down", s)
			}
		}
	}
	if n := log.count(`service="`); n != alone {
		t.Errorf("%d queries of one service with Prometheus down; the watch's failure answers them", n-alone)
	}
	if n := hub.Watches(); n != 1 {
		t.Errorf("%d scrape watches for three services on one job, want 1", n)
	}
	cancel()
	for hub.Watches() != 0 { // the last service leaving stops the watch
		time.Sleep(10 * time.Millisecond)
	}
}
