package ha_bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/testenv"
)

// TestBlastRadius deploys, RUNS times (default 10), a version failing
// half its requests to a service behind REPLICAS (default 3) replicas'
// switches, with RATE req/s (default 200) spread evenly over them, and
// counts the requests the bad version served before every switch was back
// on the good one — the default policy, as bench/detect's blast table
// measures for one daemon.
// One replica is measured first in the same run, as the peer.
func TestBlastRadius(t *testing.T) {
	testenv.Measurement(t, "run bench/ha/run.sh")
	replicas, runs, rate := 3, 10, 200
	_, _ = fmt.Sscan(os.Getenv("REPLICAS"), &replicas)
	_, _ = fmt.Sscan(os.Getenv("RUNS"), &runs)
	_, _ = fmt.Sscan(os.Getenv("RATE"), &rate)
	for _, n := range []int{1, replicas} {
		t.Run(fmt.Sprintf("replicas=%d", n), func(t *testing.T) { blast(t, n, runs, rate) })
	}
}

func blast(t *testing.T, replicas, runs, rate int) {
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer good.Close()
	pol := config.DefaultPolicy()
	pol.Cooldown = time.Millisecond // one bad deploy after another
	svc := config.Service{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Policy: pol, Active: "v0",
		Versions: []config.Version{{Name: "v0", URL: good.URL}}}
	apps, lead := cluster(t, replicas, svc)
	cli := apiclient.New("http://"+apps[lead].APIAddr(), token)
	var served []int64
	var took []time.Duration
	for r := range runs {
		var hits atomic.Int64
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			hits.Add(1)
			if rand.IntN(2) == 0 {
				http.Error(w, "bad", http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, "ok")
		}))
		stop := load(apps, rate)
		time.Sleep(time.Second) // a warm, steady load before the deploy
		name := fmt.Sprintf("bad%d", r)
		start := time.Now()
		if _, err := cli.Deploy(context.Background(), "svc", name, bad.URL); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
			all := true
			for _, a := range apps {
				if a.Switch("svc").Active() == name {
					all = false
				}
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: %s still served after 60s", r, name)
			}
		}
		took = append(took, time.Since(start))
		stop()
		bad.Close()
		served = append(served, hits.Load())
		if _, err := cli.Deploy(context.Background(), "svc", "v0", ""); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(served)
	slices.Sort(took)
	t.Logf("ha blast radius: %d replicas, %d req/s over them, 50%% errors, default policy, %d runs: bad version served %d median / %d p95 requests; every switch back after %v median / %v max",
		replicas, rate, runs, served[len(served)/2], served[min(len(served)-1, len(served)*95/100)], took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
}

// load sends rate req/s, round robin over every replica's switch, open
// loop; stop waits for the requests in flight.
func load(apps []*app.App, rate int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var urls []string
	for _, a := range apps {
		urls = append(urls, "http://"+a.ProxyAddr("svc")+"/")
	}
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			u := urls[i%len(urls)]
			wg.Go(func() {
				if resp, err := client.Get(u); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	})
	return func() { cancel(); wg.Wait(); client.CloseIdleConnections() }
}
