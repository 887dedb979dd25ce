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
// an evaluation runs are dropped, not queued. The ticker is not stopped
// when ctx ends: once its reader is gone nothing refers to it and it is
// collected (Go 1.23 timers), where an AfterFunc to stop it held ~175
// bytes a service for as long as the service ran.
func Every(d time.Duration) Trigger {
	return func(context.Context) <-chan time.Time { return time.NewTicker(d).C }
}

// Merge fires whenever any of ts fires: a ticker for the signals that
// change all the time (the switch's) and an event for those that change
// in steps (a Prometheus scrape landing). A nil channel from one of them
// never fires. One goroutine forwards each pair of channels (a lone one
// is handed over as it is): a goroutine per trigger per service was a
// goroutine and its stack more for each of 10,000 services.
func Merge(ts ...Trigger) Trigger {
	return func(ctx context.Context) <-chan time.Time {
		var chs []<-chan time.Time
		for _, t := range ts {
			if ch := t(ctx); ch != nil {
				chs = append(chs, ch)
			}
		}
		if len(chs) == 0 {
			return make(chan time.Time, 1) // never fires
		}
		for len(chs) > 1 {
			chs = append(chs[2:], merge2(ctx, chs[0], chs[1]))
		}
		return chs[0]
	}
}

// merge2 forwards a and b to one channel that holds one pending firing.
func merge2(ctx context.Context, a, b <-chan time.Time) <-chan time.Time {
	out := make(chan time.Time, 1)
	go func() {
		for {
			var at time.Time
			select {
			case <-ctx.Done():
				return
			case at = <-a:
			case at = <-b:
			}
			select {
			case out <- at:
			default: // an evaluation is already due
			}
		}
	}()
	return out
}

// Idle slows OnEvidence down for a service nothing happens to. Quiet
// reports whether no evidence can have arrived since its previous call (it
// is called from one goroutine); Every is the slowest evaluation cadence
// then. The zero Idle never slows down.
type Idle struct {
	Quiet func() bool
	Every time.Duration
}

// minEvidenceGap is the least time between two evaluations woken by
// evidence: at 1,000 failing requests a second the switch pokes a
// thousand times, and an evaluation per poke (each sums the window's
// latency histograms) spent a core on the verdict the first few already
// reached — at 1 ms the bench's 1,000 req/s load starved and piled up
// connections on a busy 2-core machine. 5 ms costs at most ~5 requests of
// blast radius at that rate.
const minEvidenceGap = 5 * time.Millisecond

// OnEvidence evaluates when evidence arrives on ch (the switch pokes it
// when the live version records an error or a slow answer) or every
// interval, whichever comes first: a fault is judged on the requests that
// show it, not on the next tick, and a healthy version is still judged
// (and shown healthy) at the interval. Pokes that arrive while an
// evaluation is pending or within minEvidenceGap of the last one are
// coalesced into one; a channel that never stops firing cannot make it
// spin.
//
// With idle set, a tick at which idle.Quiet reports that nothing happened
// since its last call slows the ticker to idle.Every and is skipped unless
// idle.Every has passed since the last evaluation: a service that sees no
// traffic costs one wake-up and one evaluation per idle.Every, not twenty
// a second; its time-based rules (bake, suspect_grace, a canary's
// max_step) run at that heartbeat. The first tick that sees activity, or
// any poke (the switch's first error), restores the interval — so a
// service that was idle is judged at full speed on its first error at
// once, and on everything else within one idle.Every.
func OnEvidence(ch <-chan struct{}, interval time.Duration, idle Idle) Trigger {
	return func(ctx context.Context) <-chan time.Time {
		out := make(chan time.Time, 1)
		go func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			period := interval
			pace := func(d time.Duration) {
				if period != d {
					period = d
					tick.Reset(d)
				}
			}
			var last time.Time
			for {
				var now time.Time
				select {
				case <-ctx.Done():
					return
				case now = <-tick.C:
					if idle.Quiet == nil || !idle.Quiet() {
						pace(interval)
						break
					}
					pace(max(idle.Every, interval))
					if now.Sub(last) < idle.Every {
						continue
					}
				case <-ch:
					pace(interval)
					now = time.Now()
					if wait := minEvidenceGap - now.Sub(last); wait > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(wait):
						}
						now = time.Now()
					}
				}
				select {
				case out <- now:
					last = now
				default: // one is pending: it will see this evidence too
				}
			}
		}()
		return out
	}
}
