// Package delivery moves incident news from the store to the channels, and
// is the reason a notification is never lost.
//
// The outbox is the incident timeline itself: every incident change is
// written together with the event that announces it, in one transaction, and
// each channel keeps a cursor into the global event log. A channel's worker
// reads the events past its cursor, delivers them in order, and moves the
// cursor only after the channel accepted (or permanently refused) the
// message. A crash before the cursor moves means the message is delivered
// again after the restart — at least once — and channels make repeats
// harmless with the incident ID as dedup key. No second queue, no second
// schema, nothing that can disagree with the timeline.
//
// Transient failures (408, 429, 5xx, network) are retried with exponential
// backoff and full jitter, never sooner than the server's Retry-After, for
// as long as it takes: a 10-minute outage delays messages, it does not drop
// them. Permanent failures (400, 401, 403, 404, 410) are written to the
// incident's timeline and skipped, so one bad message cannot block a channel
// forever.
package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/store"
)

// Channel is one configured destination with its severity route.
type Channel struct {
	Name        string
	Notifier    notify.Notifier
	MinSeverity incident.Severity
	// Drills: the channel hears drill incidents (incident.KindDrill) of at
	// least DrillSeverity; without it, never (a rehearsal pages nobody who
	// did not ask for it).
	Drills        bool
	DrillSeverity incident.Severity
	// Quiet channels do not get a "notified" line on the timeline: the
	// report writer, whose own event says more.
	Quiet bool
}

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	Logger      *slog.Logger
	Poll        time.Duration // how often idle workers look for events; default 250ms
	BaseBackoff time.Duration // first retry wait; default 500ms
	MaxBackoff  time.Duration // cap; default 1m
	Timeout     time.Duration // per attempt; default 30s
	ReportURL   func(incidentID string) string
	// AfterAccepted runs once a channel accepted a message and before
	// anything records it: the timeline's "notified" line, the channel's
	// cursor. A crash there is the one that makes a redelivery — tests put
	// one there to prove the redelivery carries the same dedup key and
	// webhook-id.
	AfterAccepted func(channel string, msg notify.Message)
}

// Dispatcher runs one delivery worker per channel.
type Dispatcher struct {
	st    store.Store
	chans []Channel
	o     Options
	log   *slog.Logger
	wake  chan struct{}
}

// New builds a dispatcher over st.
func New(st store.Store, chans []Channel, o Options) *Dispatcher {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Poll = cmp(o.Poll, 250*time.Millisecond)
	o.BaseBackoff = cmp(o.BaseBackoff, 500*time.Millisecond)
	o.MaxBackoff = cmp(o.MaxBackoff, time.Minute)
	o.Timeout = cmp(o.Timeout, 30*time.Second)
	return &Dispatcher{st: st, chans: chans, o: o, log: o.Logger, wake: make(chan struct{}, 1)}
}

func cmp(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Wake tells idle workers new events exist, so delivery does not wait for
// the next poll. Safe to call from anywhere, any number of times.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Start initialises every channel's cursor (a new channel starts at the end
// of the log: it is not flooded with old incidents) and runs the workers
// until ctx ends. It returns once the cursors are set.
func (d *Dispatcher) Start(ctx context.Context) (wait func(), err error) {
	last, err := d.st.LastEventSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	wakes := make([]chan struct{}, len(d.chans))
	for i, c := range d.chans {
		if _, found, err := d.st.Cursor(ctx, cursorName(c.Name)); err != nil {
			return nil, fmt.Errorf("delivery: cursor %s: %w", c.Name, err)
		} else if !found {
			if err := d.st.SetCursor(ctx, cursorName(c.Name), last); err != nil {
				return nil, fmt.Errorf("delivery: cursor %s: %w", c.Name, err)
			}
		}
		wakes[i] = make(chan struct{}, 1)
	}
	done := make(chan struct{})
	go func() { // fan one wake-up out to every worker
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.wake:
				for _, w := range wakes {
					select {
					case w <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	finished := make(chan struct{}, len(d.chans))
	for i, c := range d.chans {
		w := &worker{d: d, ch: c, wake: wakes[i], log: d.log.With("channel", c.Name)}
		go func() { w.run(ctx); finished <- struct{}{} }()
	}
	go func() {
		for range d.chans {
			<-finished
		}
		close(done)
	}()
	return func() { <-done }, nil
}

func cursorName(channel string) string { return "notify:" + channel }

// backoff is exponential with full jitter, at least the server's wait.
func (d *Dispatcher) backoff(attempt int, after time.Duration) time.Duration {
	ceil := d.o.BaseBackoff << min(attempt, 20)
	if ceil > d.o.MaxBackoff || ceil <= 0 {
		ceil = d.o.MaxBackoff
	}
	wait := time.Duration(rand.Int64N(int64(ceil)) + 1)
	return max(wait, after)
}
