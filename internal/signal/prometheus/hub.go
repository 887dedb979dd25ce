package prometheus

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Hub shares what services on one Prometheus job have in common: one
// scrape watch per (server URL, job), whatever the number of services
// watching it, and, as each scrape lands, one query per counts metric for
// every version of every one of those services that is being read (see
// batch.go) — not a watch and a query per service. A daemon makes one Hub
// and gates every service's Source with it (Hub.Gate).
//
// The watch fans a landing out to each service's channel after the
// batched queries have been applied to the services' tallies, so the
// evaluation it triggers finds its counts read already and asks
// Prometheus nothing.
type Hub struct {
	poll time.Duration

	mu   sync.Mutex
	jobs map[jobKey]*jobWatch

	// lone bounds the first reads of versions (their bases) made alone at
	// once; the others wait for the job's next batch (see batch.go).
	lone chan struct{}

	queries, members, alone, reads, evals atomic.Int64
	last                                  atomic.Int64 // members of the newest batch
}

// HubStats counts a Hub's batched reads.
type HubStats struct {
	// Queries is how many batched queries were sent; Members how many
	// (service, version, metric) reads they answered between them.
	Queries, Members int64
	// Alone is how many reads could not be batched (their template's form
	// is not one batch.go knows) and are read per service instead.
	Alone int64
	// Reads is how many reads the Hub's gates answered, Evaluations how
	// many distinct moments they were for (a service's evaluation reads
	// each of its rules' metrics at one moment); Last is the members of
	// the newest batch.
	Reads, Evaluations, Last int64
}

// Stats returns the counts so far.
func (h *Hub) Stats() HubStats {
	return HubStats{Queries: h.queries.Load(), Members: h.members.Load(), Alone: h.alone.Load(),
		Reads: h.reads.Load(), Evaluations: h.evals.Load(), Last: h.last.Load()}
}

// Watches is how many scrape watches run: one per server and job watched.
func (h *Hub) Watches() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.jobs)
}

type jobKey struct{ url, job string }

type jobWatch struct {
	client *Client
	cancel context.CancelFunc
	subs   map[*subscriber]struct{}
	newest time.Time // the newest scrape seen, under Hub.mu
}

type subscriber struct {
	g       *Gated
	service string
	ch      chan time.Time
}

// NewHub returns a Hub whose watches check for new scrapes every poll at
// most (e.g. 100ms; closer while a scrape is due).
func NewHub(poll time.Duration) *Hub {
	return &Hub{poll: poll, jobs: map[jobKey]*jobWatch{}, lone: make(chan struct{}, loneBases)}
}

// Gate gates src as NewGated does, with the Hub's poll, its watches shared
// through the Hub.
func (h *Hub) Gate(src *Source) *Gated {
	g := NewGated(src, h.poll)
	g.hub, g.shared = h, h
	return g
}

// subscribe adds service (of g) to its job's watch, starting the watch if
// it is the first; the service leaves with ctx and the watch stops with its
// last service.
func (h *Hub) subscribe(ctx context.Context, g *Gated, service string) <-chan time.Time {
	svc := g.src.services[service]
	key := jobKey{svc.cfg.URL, svc.cfg.Job}
	sub := &subscriber{g: g, service: service, ch: make(chan time.Time, 1)}
	g.mu.Lock()
	g.watched[service]++
	g.mu.Unlock()
	h.mu.Lock()
	jw := h.jobs[key]
	if jw == nil {
		wctx, cancel := context.WithCancel(context.Background())
		jw = &jobWatch{client: svc.client, cancel: cancel, subs: map[*subscriber]struct{}{}}
		h.jobs[key] = jw
		go h.run(wctx, jw, key.job)
	}
	jw.subs[sub] = struct{}{}
	if !jw.newest.IsZero() { // a watch already running: this scrape is news to the newcomer
		g.advance(service, jw.newest)
		sub.ch <- time.Now()
	}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		delete(jw.subs, sub)
		if len(jw.subs) == 0 && h.jobs[key] == jw {
			jw.cancel()
			delete(h.jobs, key)
		}
		h.mu.Unlock()
		g.mu.Lock()
		if g.watched[service]--; g.watched[service] <= 0 {
			delete(g.watched, service)
		}
		g.mu.Unlock()
	})
	return sub.ch
}

// run is one job's watch: Gated.Watch's schedule (see watch.go), for
// every subscriber at once.
func (h *Hub) run(ctx context.Context, jw *jobWatch, job string) {
	w := scrapeWatch{targets: map[string]*scrapeTarget{}, lag: math.MaxInt64}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		ts, err := jw.client.ScrapeTimes(ctx, job)
		now := time.Now()
		h.mu.Lock()
		subs := make([]*subscriber, 0, len(jw.subs))
		for s := range jw.subs {
			subs = append(subs, s)
		}
		h.mu.Unlock()
		switch newest, advanced := w.observe(ts, now); {
		case err != nil || len(ts) == 0:
			if err == nil {
				err = fmt.Errorf("prometheus: no target of job %s: %w", job, signal.ErrNoData)
			}
			for _, s := range subs {
				s.g.src.fail(s.service, now, compact(err, "scrape times of job "+job))
				s.g.advance(s.service, now) // reads answer the failure: Blind
			}
		case advanced:
			h.mu.Lock()
			jw.newest = newest
			h.mu.Unlock()
			// Read first, then tell: a read in between still sees the
			// previous scrape and answers from the cache.
			h.prefetch(ctx, jw.client, subs, newest)
			for _, s := range subs {
				s.g.advance(s.service, newest)
			}
			wake(subs)
		}
		timer.Reset(w.next(time.Now(), h.poll))
	}
}

// wakeChunk is how many services wake wakes at a time.
const wakeChunk = 32

// wake tells every subscriber a scrape landed, wakeChunk at a time with
// a yield between, so the woken evaluations run before the next ones are
// woken. Woken all at once, 10,000 evaluation goroutines filled the run
// queue in one go and every other goroutine waited behind all of them
// (about 10,000 × 40 µs of evaluation on two cores): an API read that
// arrived as a scrape landed took 300 ms. Chunked, a read waits for a
// chunk at most; the fleet is judged as fast (the work is the same CPU),
// and no service waits on another's reads (each still has its goroutine).
func wake(subs []*subscriber) {
	for i, s := range subs {
		if i > 0 && i%wakeChunk == 0 {
			runtime.Gosched()
		}
		select {
		case s.ch <- time.Now():
		default:
		}
	}
}
