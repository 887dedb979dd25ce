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
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/testenv"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const token = "bench-admin-token-0123456789abcdef"

// TestPropagation switches the service ROUNDS times (default 200) through
// the leader's API between two healthy versions and records, for each
// follower of REPLICAS (default 3), the time from the leader's switch
// moving to the follower's.
func TestPropagation(t *testing.T) {
	testenv.Measurement(t, "run bench/ha/run.sh")
	replicas, rounds := 3, 200
	_, _ = fmt.Sscan(os.Getenv("REPLICAS"), &replicas)
	_, _ = fmt.Sscan(os.Getenv("ROUNDS"), &rounds)
	dsn := pgtest.DSN(t)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer ok.Close()
	pol := config.DefaultPolicy()
	svc := config.Service{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Policy: pol, Active: "v1",
		Versions: []config.Version{{Name: "v1", URL: ok.URL}, {Name: "v2", URL: ok.URL + "/v2"}}}
	var apps []*app.App
	for i := range replicas {
		cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{{Name: "ops", Role: config.RoleAdmin, Value: token}}},
			Store: config.Store{URL: dsn}, Services: []config.Service{svc}, Reports: config.Reports{Dir: filepath.Join(t.TempDir(), "r")},
			HA: &config.HA{Replica: fmt.Sprintf("replica-%d", i), LeaseTTL: 2 * time.Second}}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		a, err := app.New(context.Background(), cfg, app.Options{StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = a.Stop(context.Background()) }()
		apps = append(apps, a)
	}
	lead := -1
	for deadline := time.Now().Add(30 * time.Second); lead < 0; time.Sleep(10 * time.Millisecond) {
		for i, a := range apps {
			if a.HA().Leads(0) {
				lead = i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
	}
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
