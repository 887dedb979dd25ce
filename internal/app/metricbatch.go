package app

import (
	"context"
	"sync"

	"github.com/ripcord/ripcord/internal/store"
)

// groupCommit is a store whose RecordMetrics commits the per-second chart
// points of every service together: each controller records its second
// on its own (record.go), and 10,000 services were 10,000 transactions a
// second, queued on SQLite's one writer ahead of the decisions that
// matter (a revert's writes waited tens of seconds behind them). The first
// caller writes at once; points arriving while it writes are committed
// together by it right after, so one service pays no delay and a fleet
// pays one transaction per round instead of one per service. A caller
// whose points another caller commits returns before they are written;
// a failed write is logged, as record does, and its points dropped (they
// are chart points, never decisions).
type groupCommit struct {
	store.Store
	log func(msg string, args ...any)

	mu      sync.Mutex
	writing bool
	pending []store.MetricPoint
}

func (g *groupCommit) RecordMetrics(ctx context.Context, pts []store.MetricPoint) error {
	if len(pts) == 0 {
		return nil
	}
	g.mu.Lock()
	g.pending = append(g.pending, pts...)
	if g.writing {
		g.mu.Unlock()
		return nil
	}
	g.writing = true
	var first error
	for len(g.pending) > 0 {
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		if err := g.Store.RecordMetrics(ctx, batch); err != nil {
			if first == nil {
				first = err
			}
			if g.log != nil {
				g.log("recording metrics failed; points dropped", "points", len(batch), "err", err)
			}
		}
		g.mu.Lock()
	}
	g.writing = false
	g.mu.Unlock()
	return first
}
