package demo

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestLoadOneCountsEachOutcome: a request counts towards the total, a 5xx
// or a failed connection as failed, and the answering version by its
// X-Version header; the live-view bucket sees the same and is reset by
// takeSecond.
func TestLoadOneCountsEachOutcome(t *testing.T) {
	code, version := http.StatusOK, "v1"
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/v1/completions" {
			t.Errorf("load sent %s", r.URL.Path)
		}
		if version != "" {
			w.Header().Set("X-Version", version)
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	l := newLoad(srv.URL, 10)
	set := func(c int, v string) { mu.Lock(); code, version = c, v; mu.Unlock() }
	set(200, "v1")
	l.one()
	set(503, "v2")
	l.one()
	set(404, "v2") // a 4xx is the client's problem, not the version's
	l.one()
	set(200, "")
	l.one()
	if l.total.Load() != 4 || l.failed.Load() != 1 || l.served("v1") != 1 || l.served("v2") != 2 || l.served("v3") != 0 {
		t.Fatalf("total %d failed %d v1 %d v2 %d", l.total.Load(), l.failed.Load(), l.served("v1"), l.served("v2"))
	}
	s := l.takeSecond()
	if s.requests != 4 || s.failed != 1 || len(s.latencies) != 4 {
		t.Fatalf("second %+v", s)
	}
	if s = l.takeSecond(); s.requests != 0 || s.failed != 0 || s.latencies != nil {
		t.Fatalf("takeSecond did not reset: %+v", s)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := newLoad("http://"+ln.Addr().String(), 10)
	ln.Close()
	dead.one()
	if dead.total.Load() != 1 || dead.failed.Load() != 1 || len(dead.byVersion) != 0 {
		t.Fatalf("a refused connection: total %d failed %d %v", dead.total.Load(), dead.failed.Load(), dead.byVersion)
	}
}

// TestLoadRunStopsAndWaitsForItsRequests: run sends until its context
// ends and returns only when every request it started has finished, so the
// totals it leaves match what the server answered.
func TestLoadRunStopsAndWaitsForItsRequests(t *testing.T) {
	var mu sync.Mutex
	answered := 0
	reached := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(5 * time.Millisecond) // some requests are in flight when run is told to stop
		w.Header().Set("X-Version", "v1")
		mu.Lock()
		defer mu.Unlock()
		answered++
		if answered == 20 {
			close(reached)
		}
	}))
	defer srv.Close()
	l := newLoad(srv.URL, 500)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.run(ctx); close(done) }()
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the load never reached 20 requests")
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if int(l.total.Load()) != answered || l.failed.Load() != 0 || int(l.served("v1")) != answered {
		t.Fatalf("run left total %d failed %d v1 %d; the server answered %d", l.total.Load(), l.failed.Load(), l.served("v1"), answered)
	}
}

func TestP99(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	seq := func(n int) []time.Duration { // n, n-1, …, 1 ms: unsorted on purpose
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(n-i) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"one", ms(7), 7 * time.Millisecond},
		{"two", ms(9, 1), 9 * time.Millisecond},
		{"100", seq(100), 100 * time.Millisecond},
		{"200", seq(200), 199 * time.Millisecond},
		{"1000", seq(1000), 991 * time.Millisecond},
	} {
		if got := p99(tc.in); got != tc.want {
			t.Errorf("%s: p99 %v, want %v", tc.name, got, tc.want)
		}
	}
}
