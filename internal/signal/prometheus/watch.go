package prometheus

import (
	"context"
	"math"
	"time"
)

// fine is how often Watch asks while a scrape it expects is late.
const fine = 10 * time.Millisecond

// Watch follows the scrapes of service's job and sends on the returned
// channel (buffered, latest wins) as each lands, so the controller
// evaluates once per scrape, within about fine of it, instead of on a
// fixed tick that mostly re-reads the same numbers. While it runs, reads
// through g use the scrapes it has seen and ask Prometheus nothing else.
//
// Asking every few milliseconds all the time would load Prometheus for
// nothing: Watch learns each target's period and the delay between a
// scrape's timestamp and the moment it can be read, sleeps until the next
// one is due, and asks every fine only while one is late (for at most half
// a period). When Prometheus does not answer, reads are let through (so
// they fail and the verdict turns Blind), as without Watch. It stops with
// ctx; without a job it returns nil.
//
// The watch itself is the Hub's (Hub.Gate), one per server and job for
// every service on it, and as a scrape lands it reads the counts of all of
// them in one query per metric before the channels fire (see batch.go).
func (g *Gated) Watch(ctx context.Context, service string) <-chan time.Time {
	if !g.Watchable(service) {
		return nil
	}
	g.mu.Lock()
	if g.hub == nil {
		g.hub = NewHub(g.poll) // its own: shared by this Gated's services only
	}
	h := g.hub
	g.mu.Unlock()
	return h.subscribe(ctx, g, service)
}

// Watchable reports whether service has a scrape job Watch can follow.
func (g *Gated) Watchable(service string) bool {
	svc := g.src.service(service)
	ok := svc != nil
	return ok && svc.cfg.Job != ""
}

// advance moves service's newest known scrape forward to at.
func (g *Gated) advance(service string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gs := g.svc(service); at.After(gs.scrape.at) {
		gs.scrape.at = at
	}
}

// scrapeWatch is what Watch has learnt of one job's scrapes.
type scrapeWatch struct {
	targets map[string]*scrapeTarget
	// lag is the smallest delay seen between a scrape's timestamp (the
	// server's clock) and the moment it was read here (ours): the
	// earliest a scrape can be expected, clock offset included.
	lag time.Duration
}

type scrapeTarget struct {
	last   time.Time
	period time.Duration
}

// observe folds in one answer and reports the newest scrape time and
// whether any target was scraped since the last answer.
func (w *scrapeWatch) observe(ts map[string]time.Time, now time.Time) (newest time.Time, advanced bool) {
	for inst, at := range ts {
		t := w.targets[inst]
		if t == nil {
			t = &scrapeTarget{}
			w.targets[inst] = t
		}
		if at.After(t.last) {
			if p := at.Sub(t.last); !t.last.IsZero() && (t.period == 0 || p < t.period*3/2) {
				t.period = p // a gap of 1.5 periods or more is a missed scrape, not a new period
			}
			t.last, advanced = at, true
			w.lag = min(w.lag, now.Sub(at))
		}
		if at.After(newest) {
			newest = at
		}
	}
	for inst := range w.targets {
		if _, ok := ts[inst]; !ok && len(ts) > 0 {
			delete(w.targets, inst)
		}
	}
	return newest, advanced
}

// next is how long to sleep: until the next scrape is due, every fine
// while one is late, and never longer than poll.
func (w *scrapeWatch) next(now time.Time, poll time.Duration) time.Duration {
	wait := poll
	if w.lag == math.MaxInt64 {
		return wait
	}
	for _, t := range w.targets {
		if t.period <= 0 {
			continue
		}
		due := t.last.Add(t.period + w.lag)
		switch d := due.Sub(now); {
		case d > 0:
			wait = min(wait, d)
		case d > -t.period/2:
			wait = min(wait, fine)
		}
	}
	return max(wait, time.Millisecond)
}
