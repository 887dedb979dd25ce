package controller

import (
	"context"
	"time"
)

// A Trigger says when Run evaluates a service: it returns a channel that
// fires once per evaluation until ctx ends. Today's trigger is a ticker;
// one that fires when evidence arrives (a request completed, a scrape
// landed) replaces it without touching the step or the executor, and lets
// an idle service cost nothing between evaluations.
type Trigger func(ctx context.Context) <-chan time.Time

// Every evaluates at a fixed interval (policy.interval). Ticks missed while
// an evaluation runs are dropped, not queued.
func Every(d time.Duration) Trigger {
	return func(ctx context.Context) <-chan time.Time {
		t := time.NewTicker(d)
		context.AfterFunc(ctx, t.Stop)
		return t.C
	}
}

// Merge fires whenever any of ts fires: a ticker for the signals that
// change all the time (the switch's) and an event for those that change
// in steps (a Prometheus scrape landing). A nil channel from one of them
// never fires.
func Merge(ts ...Trigger) Trigger {
	return func(ctx context.Context) <-chan time.Time {
		out := make(chan time.Time, 1)
		for _, t := range ts {
			ch := t(ctx)
			if ch == nil {
				continue
			}
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case at := <-ch:
						select {
						case out <- at:
						default: // an evaluation is already due
						}
					}
				}
			}()
		}
		return out
	}
}
