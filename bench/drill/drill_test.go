// Package drill measures `ripcord drill` against its peer in the same run:
// the same fault arriving as a real bad deploy, which ripcord rolls back
// at 100 % of traffic. For each fault kind, at 200 req/s and a 5 % drill
// share, ≥ 10 drills and 10 bad deploys: time to detect, requests that met
// the fault, and the share actually faulted against the configured one.
//
//	nice -n 10 bash bench/drill/run.sh
package drill

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/testenv"
)

const body = `{"answer":"forty-two, with sources"}`

// faulty is a version whose fault is chosen while it runs: "" healthy, or
// one of the drill's kinds, done by the backend itself.
type faulty struct {
	mode atomic.Pointer[string]
	hits atomic.Int64
	srv  *httptest.Server
}

func newFaulty(t *testing.T) *faulty {
	f := &faulty{}
	none := ""
	f.mode.Store(&none)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		q := "0.92"
		switch *f.mode.Load() {
		case "error":
			http.Error(w, "bad build", http.StatusServiceUnavailable)
			return
		case "latency":
			time.Sleep(750 * time.Millisecond)
		case "quality":
			q = "0.25"
		case "stream":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Header().Set("X-Quality-Score", q)
			_, _ = io.WriteString(w, body[:len(body)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("X-Quality-Score", q)
		_, _ = io.WriteString(w, body)
	}))
	f.srv.Config.ErrorLog = nil
	t.Cleanup(f.srv.Close)
	return f
}

func (f *faulty) set(m string) { f.mode.Store(&m) }

const yaml = `api: {listen: "127.0.0.1:0"}
store: {url: "sqlite://%s"}
reports: {dir: %s}
services:
  - name: svc
    proxy: {listen: "127.0.0.1:0"}
    versions:
      - {name: v1, url: "%s"}
      - {name: v2, url: "%s"}
    active: v1
    signals:
      headers: {quality_score: X-Quality-Score}
    policy:
      require: 1
      cooldown: 0s
      verify: 300ms
      thresholds:
        error_rate: {max: 0.05, critical: 0.25}
        latency_p99_ms: {max: 500}
        quality_score: {min: 0.5}
    drills: {share: 5, timeout: 60s}
`

type sample struct{ detect, affected, live, share float64 }

func TestDrillFigures(t *testing.T) {
	testenv.Measurement(t, "run bench/drill/run.sh")
	runs, _ := strconv.Atoi(os.Getenv("RUNS"))
	runs = max(runs, 10)
	v1, v2 := newFaulty(t), newFaulty(t)
	dir := t.TempDir()
	cfg, err := config.Parse(fmt.Appendf(nil, yaml, filepath.Join(dir, "r.db"), filepath.Join(dir, "reports"), v1.srv.URL, v2.srv.URL), dir, app.Providers())
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	tok, _ := a.LocalToken()
	c := apiclient.New("http://"+a.APIAddr(), tok)
	var sent atomic.Int64
	stop := load(a.ProxyAddr("svc"), 200, &sent)
	defer stop()
	waitStable(t, c)
	for _, fault := range []string{"error", "latency", "quality", "stream"} {
		var drills, deploys []sample
		for range runs {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			rep, err := c.Drill(ctx, "svc", api.DrillRequest{Fault: fault})
			cancel()
			if err != nil || !rep.Passed {
				t.Fatalf("%s drill: %v %+v", fault, err, rep)
			}
			drills = append(drills, sample{rep.DetectSeconds, float64(rep.AffectedRequests), float64(rep.LiveRequests), rep.ActualShare})
			waitStable(t, c)
		}
		for range runs {
			deploys = append(deploys, badDeploy(t, c, v2, fault, &sent))
			waitStable(t, c)
		}
		report(t, fault, drills, deploys)
	}
}

// badDeploy deploys v2 with the fault and waits for its rollback: time from
// the deploy to the decision, and requests v2 served.
func badDeploy(t *testing.T, c *apiclient.Client, v2 *faulty, fault string, sent *atomic.Int64) sample {
	t.Helper()
	v2.set(fault)
	defer v2.set("")
	ctx := context.Background()
	hits0, sent0 := v2.hits.Load(), sent.Load()
	start := time.Now()
	if _, err := c.Deploy(ctx, "svc", "v2", ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s, err := c.Service(ctx, "svc")
		if err == nil && s.Active == "v1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s deploy not rolled back: %+v", fault, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ds, err := c.Decisions(ctx, "svc")
	if err != nil || len(ds) == 0 || ds[0].Action != "rollback" {
		t.Fatalf("last decision %+v %v", ds, err)
	}
	detect := ds[0].CreatedAt.Sub(start).Seconds()
	hits := float64(v2.hits.Load() - hits0)
	return sample{detect: detect, affected: hits, live: float64(sent.Load()-sent0) - hits, share: 100}
}

func waitStable(t *testing.T, c *apiclient.Client) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s, err := c.Service(context.Background(), "svc")
		if err == nil && s.State == controller.StateStable && s.Active == "v1" && s.Verdict == "healthy" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not stable on v1: %+v %v", s, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func report(t *testing.T, fault string, drills, deploys []sample) {
	med := func(ss []sample, f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	maxOf := func(ss []sample, f func(sample) float64) float64 {
		m := 0.0
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	det := func(s sample) float64 { return s.detect }
	aff := func(s sample) float64 { return s.affected }
	var affSum, liveSum, expSum float64
	for _, s := range drills {
		affSum += s.affected
		liveSum += s.live
		expSum += 0.05 * 200 * s.detect
	}
	t.Logf("%-7s drill (5%%, n=%d): detect median %.3fs max %.3fs; affected median %.0f max %.0f; share faulted %.2f%% (configured 5%%); affected/(share×rate×detect) %.2f",
		fault, len(drills), med(drills, det), maxOf(drills, det), med(drills, aff), maxOf(drills, aff),
		100*affSum/(affSum+liveSum), affSum/expSum)
	t.Logf("%-7s bad deploy (100%%, n=%d): detect median %.3fs max %.3fs; bad-version requests median %.0f max %.0f",
		fault, len(deploys), med(deploys, det), maxOf(deploys, det), med(deploys, aff), maxOf(deploys, aff))
	t.Logf("%-7s ratio drill/deploy: detect %.2f×, requests meeting the fault %.2f×", fault,
		med(drills, det)/med(deploys, det), med(drills, aff)/med(deploys, aff))
}

// load sends rate req/s open-loop to addr until stop.
func load(addr string, rate int, sent *atomic.Int64) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DialContext: (&net.Dialer{}).DialContext}
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			sent.Add(1)
			wg.Go(func() {
				if resp, err := client.Get("http://" + addr + "/"); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	})
	return func() { cancel(); wg.Wait(); tr.CloseIdleConnections() }
}
