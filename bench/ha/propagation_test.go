// Package ha_bench measures what config ha costs: how long after the
// acting replica's switch moves every follower's switch moves too
// (PostgreSQL LISTEN/NOTIFY, then one read of the service). Runs only
// with RIPCORD_BENCH=1 (bench/ha/run.sh).
package ha_bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/testenv"
)

// TestPropagation switches the service ROUNDS times (default 200) through
// the leader's API between two healthy versions and records, for each
// follower of REPLICAS (default 3), the time from the leader's switch
// moving to the follower's.
func TestPropagation(t *testing.T) {
	testenv.Measurement(t, "run bench/ha/run.sh")
	replicas, rounds := 3, 200
	_, _ = fmt.Sscan(os.Getenv("REPLICAS"), &replicas)
	_, _ = fmt.Sscan(os.Getenv("ROUNDS"), &rounds)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer ok.Close()
	svc := config.Service{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Policy: config.DefaultPolicy(), Active: "v1",
		Versions: []config.Version{{Name: "v1", URL: ok.URL}, {Name: "v2", URL: ok.URL + "/v2"}}}
	apps, lead := cluster(t, replicas, svc)
	cli := apiclient.New("http://"+apps[lead].APIAddr(), token)
	var lags []time.Duration
	ctx := context.Background()
	for r := range rounds {
		want := []string{"v2", "v1"}[r%2]
		seen := make([]time.Time, len(apps))
		done := make(chan struct{})
		go func() { // watch every switch at 50 µs resolution
			defer close(done)
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Microsecond) {
				all := true
				for i, a := range apps {
					if seen[i].IsZero() {
						if a.Switch("svc").Active() == want {
							seen[i] = time.Now()
						} else {
							all = false
						}
					}
				}
				if all {
					return
				}
			}
		}()
		if _, err := cli.Deploy(ctx, "svc", want, ""); err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		<-done
		for i := range apps {
			if i == lead {
				continue
			}
			if seen[i].IsZero() {
				t.Fatalf("round %d: replica-%d never followed to %s", r, i, want)
			}
			lags = append(lags, max(seen[i].Sub(seen[lead]), 0))
		}
	}
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	t.Logf("ha propagation: %d replicas, %d switches, %d follower moves: p50 %v, p99 %v, max %v (goal p99 <= 50ms)",
		replicas, rounds, len(lags), q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lags[len(lags)-1].Round(10*time.Microsecond))
}
