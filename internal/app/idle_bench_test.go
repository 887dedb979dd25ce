//go:build unix

package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
)

// BenchmarkIdleServices is what proxied services that see no traffic at
// all cost the daemon: 500 of them, each with its switch and controller
// running under serve's own triggers, measured over 10 s of process CPU.
// It reports cores (CPU seconds per second) and CPU per service.
// "every-interval" is the same daemon without the idle heartbeat
// (evaluating every policy interval, 50 ms), the figure it is compared to.
func BenchmarkIdleServices(b *testing.B) {
	for _, mode := range []struct {
		name string
		slow bool
	}{{"heartbeat", true}, {"every-interval", false}} {
		b.Run(mode.name, func(b *testing.B) {
			slowWhenIdle = mode.slow
			defer func() { slowWhenIdle = true }()
			idleServices(b)
		})
	}
}

func idleServices(b *testing.B) {
	const n, span = 500, 10 * time.Second
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	b.Cleanup(up.Close)
	for b.Loop() {
		cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"},
			Store: config.Store{URL: "sqlite://" + filepath.Join(b.TempDir(), "idle.db")}}
		for i := range n {
			cfg.Services = append(cfg.Services, config.Service{Name: fmt.Sprintf("svc-%03d", i), Proxy: config.Proxy{Listen: "127.0.0.1:0"},
				Policy: config.DefaultPolicy(), Active: "v1", Versions: []config.Version{{Name: "v1", URL: up.URL}}})
		}
		a, err := New(context.Background(), cfg, Options{StateDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second) // start-up done
		before, t0 := cpuTime(b), time.Now()
		time.Sleep(span)
		cores := (cpuTime(b) - before).Seconds() / time.Since(t0).Seconds()
		b.ReportMetric(cores, "cores")
		b.ReportMetric(cores/n*1e6, "µs-cpu/s/service")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := a.Stop(ctx); err != nil {
			b.Error(err)
		}
		cancel()
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
