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
