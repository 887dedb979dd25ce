package app

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// countingStore counts the transactions RecordMetrics makes and can hold
// the first one open, so callers arrive while it writes.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls int
	hold  chan struct{}
}

func (c *countingStore) RecordMetrics(ctx context.Context, pts []store.MetricPoint) error {
	c.mu.Lock()
	c.calls++
	first := c.calls == 1
	c.mu.Unlock()
	if first && c.hold != nil {
		<-c.hold
	}
	return c.Store.RecordMetrics(ctx, pts)
}

// TestGroupCommitCoalesces: while one service's points are being written,
// 99 others' wait and are committed together in one more transaction, and
// every point reaches the store.
func TestGroupCommitCoalesces(t *testing.T) {
	ctx := context.Background()
	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	cs := &countingStore{Store: lite, hold: make(chan struct{})}
	g := &groupCommit{Store: cs}
	now := time.Now().Truncate(time.Second)
	point := func(svc string) []store.MetricPoint {
		return []store.MetricPoint{{Service: svc, Version: "v1", At: now, Requests: 10, Errors: 1}}
	}
	firstDone := make(chan error, 1)
	go func() { firstDone <- g.RecordMetrics(ctx, point("svc-0")) }()
	for { // wait until the first write is in progress
		cs.mu.Lock()
		n := cs.calls
		cs.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 100; i++ {
		if err := g.RecordMetrics(ctx, point("svc-"+string(rune('a'+i%26))+string(rune('a'+i/26)))); err != nil {
			t.Fatal(err)
		}
	}
	close(cs.hold)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if cs.calls != 2 {
		t.Fatalf("%d transactions for 100 services' points, want 2 (the first, then the 99 that came meanwhile)", cs.calls)
	}
	total := 0
	for i := 0; i < 100; i++ {
		svc := "svc-0"
		if i > 0 {
			svc = "svc-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		pts, err := lite.Metrics(ctx, svc, now.Add(-time.Second), now.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		total += len(pts)
	}
	if total != 100 {
		t.Fatalf("%d of 100 points in the store", total)
	}
}
