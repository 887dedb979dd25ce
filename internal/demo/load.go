package demo

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// load is an open-loop generator: it starts requests at a fixed rate whether
// or not earlier ones finished, the way real users arrive, so a slow version
// cannot throttle its own traffic and hide its latency.
type load struct {
	url    string
	rate   int
	client *http.Client

	total, failed atomic.Int64
	mu            sync.Mutex
	byVersion     map[string]int64
	sec           second // current one-second bucket for the live view
}

type second struct {
	requests, failed int64
	latencies        []time.Duration
}

func newLoad(url string, rate int) *load {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second}
	return &load{url: url, rate: rate, byVersion: map[string]int64{},
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// run sends requests until ctx ends and waits for those in flight.
func (l *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(l.rate)
	next := time.Now()
	for ctx.Err() == nil {
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		wg.Go(l.one)
	}
	wg.Wait()
	l.client.CloseIdleConnections()
}

func (l *load) one() {
	start := time.Now()
	resp, err := l.client.Get(l.url + "/v1/completions")
	ok, version := false, ""
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ok = resp.StatusCode < 500
		version = resp.Header.Get("X-Version")
	}
	lat := time.Since(start)
	l.total.Add(1)
	if !ok {
		l.failed.Add(1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if version != "" {
		l.byVersion[version]++
	}
	l.sec.requests++
	if !ok {
		l.sec.failed++
	}
	l.sec.latencies = append(l.sec.latencies, lat)
}

// takeSecond returns and resets the live-view bucket.
func (l *load) takeSecond() second {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sec
	l.sec = second{}
	return s
}

func (l *load) served(version string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byVersion[version]
}
