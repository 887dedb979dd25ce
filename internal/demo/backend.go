package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// Faults the demo can inject into v2.
const (
	FaultError   = "error"   // half the requests fail with 503
	FaultLatency = "latency" // every request takes 1.5 s
	FaultQuality = "quality" // answers are fast and 200, but the evaluation pipeline scores them badly
	FaultNone    = "none"    // v2 is as healthy as v1
)

// Faults lists the valid --fault values.
var Faults = []string{FaultError, FaultLatency, FaultQuality, FaultNone}

// backend is one demo version: a real HTTP server on loopback that answers
// like a small LLM API, with the fault (if any) applied.
type backend struct {
	version string
	fault   string
	srv     *http.Server
	url     string
	// errShare and delayMin/Max replace the faults' defaults when set.
	errShare           float64
	delayMin, delayMax time.Duration
}

func startBackend(b *backend) (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: backend %s: %w", b.version, err)
	}
	b.url = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Version", b.version)
	// A little jitter so latency percentiles look like a real service's.
	delay := time.Duration(500+rand.IntN(2500)) * time.Microsecond
	switch b.fault {
	case FaultLatency:
		delay = 1500 * time.Millisecond
		if b.delayMax > 0 {
			delay = b.delayMin + time.Duration(rand.Int64N(int64(b.delayMax-b.delayMin)+1))
		}
	case FaultError:
		share := 0.5
		if b.errShare > 0 {
			share = b.errShare
		}
		if rand.Float64() < share {
			http.Error(w, `{"error":"model backend unavailable"}`, http.StatusServiceUnavailable)
			return
		}
	}
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"version": b.version, "answer": "Rollbacks should take seconds, not minutes."})
}

func (b *backend) stop(ctx context.Context) { _ = b.srv.Shutdown(ctx) }
