package prometheus

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// Gated reads through a Source only when Prometheus has something new to
// say: after a scrape of the service's job has landed since the last read.
// The controller evaluates every few tens of milliseconds; asking Prometheus
// that often would load it for nothing, and asking on a fixed schedule (as
// Argo Rollouts and Flagger do) adds up to a whole interval of delay. A
// cheap "when was the last scrape" query every Poll gets both: the metric
// queries run once per scrape, within Poll of it landing.
//
// Without a job in the config there is no scrape to watch, so reads are
// simply spaced Poll apart.
type Gated struct {
	src  *Source
	poll time.Duration

	mu     sync.Mutex
	svcs   []namedGate // sorted by service, each made on first use
	hub    *Hub        // shares the watches; nil until the first Watch of NewGated's
	shared *Hub        // Hub.Gate's, set before use: counts reads
}

// gateService is what a Gated knows of one service, under Gated.mu. It is
// one small struct, not an entry in a map per field: a daemon makes a
// Gated per service, and each map of a few entries costs a few hundred
// bytes.
type gateService struct {
	scrape  scrapeState
	watched int       // Watch subscriptions following its scrapes
	lastAt  time.Time // the At of the newest read, for shared's counts
	cache   []gateEntry
}

type scrapeState struct {
	checked time.Time // when LastScrape was last asked (ripcord's clock)
	at      time.Time // the newest scrape it reported
}

// gateEntry is the last answer for one version and metric: a service has
// a handful, so they are found by a look along a slice.
type gateEntry struct {
	version, metric string
	scrape          time.Time // scrape the answer belongs to (or read time without a job)
	sample          signal.Sample
	err             error
}

// namedGate is one service's gateService: a sorted slice, not a map (a
// daemon gates each service on its own, and a map of one is ~250 bytes).
type namedGate struct {
	service string
	gs      *gateService
}

// svc returns service's state, making it. g.mu is held.
func (g *Gated) svc(service string) *gateService {
	i, ok := slices.BinarySearchFunc(g.svcs, service, func(n namedGate, s string) int { return strings.Compare(n.service, s) })
	if !ok {
		g.svcs = slices.Insert(g.svcs, i, namedGate{service, &gateService{}})
	}
	return g.svcs[i].gs
}

// entry returns the cached answer for version and metric, or nil.
func (gs *gateService) entry(version, metric string) *gateEntry {
	for i := range gs.cache {
		if e := &gs.cache[i]; e.version == version && e.metric == metric {
			return e
		}
	}
	return nil
}

var _ signal.Source = (*Gated)(nil)

// NewGated gates src, checking for new scrapes every poll (e.g. 100ms).
func NewGated(src *Source, poll time.Duration) *Gated {
	return &Gated{src: src, poll: poll}
}

// Scope is the one service the source answers for ("" when it has
// several), so a daemon asks each service's metrics of its own gate only.
func (g *Gated) Scope() string {
	if len(g.src.services) != 1 {
		return ""
	}
	for _, ns := range g.src.services {
		return ns.name
	}
	return ""
}

// Expected is the source's.
func (g *Gated) Expected(service, metric string) bool { return g.src.Expected(service, metric) }

// Read answers from the cache while no new scrape has landed.
func (g *Gated) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	if g.shared != nil {
		g.shared.reads.Add(1)
		g.mu.Lock()
		if gs := g.svc(q.Service); !gs.lastAt.Equal(q.At) { // a new evaluation (or a baseline read)
			gs.lastAt = q.At
			g.shared.evals.Add(1)
		}
		g.mu.Unlock()
	}
	mark := g.latest(ctx, q.Service, q.At)
	g.mu.Lock()
	gs := g.svc(q.Service)
	if e := gs.entry(q.Version, q.Metric); e != nil && !mark.After(e.scrape) {
		smp, err := e.sample, e.err
		g.mu.Unlock()
		return smp, err
	}
	var hub *Hub
	if gs.watched > 0 {
		hub = g.hub // its batches follow this service's scrapes
	}
	g.mu.Unlock()
	smp, err := g.src.read(ctx, q, mark, hub) // hub's batch may have read it for mark

	g.mu.Lock()
	if e := gs.entry(q.Version, q.Metric); e != nil {
		e.scrape, e.sample, e.err = mark, smp, err
	} else {
		gs.cache = append(gs.cache, gateEntry{version: q.Version, metric: q.Metric, scrape: mark, sample: smp, err: err})
	}
	g.mu.Unlock()
	return smp, err
}

// latest returns the newest scrape time known for service, asking
// Prometheus at most every poll. Without a job (or when the question fails)
// it returns the start of the current poll period, which spaces reads out.
func (g *Gated) latest(ctx context.Context, service string, now time.Time) time.Time {
	g.mu.Lock()
	gs := g.svc(service)
	st := gs.scrape
	if gs.watched > 0 {
		g.mu.Unlock()
		return st.at // Watch keeps it current
	}
	due := now.Sub(st.checked) >= g.poll
	if due {
		gs.scrape.checked = now
	}
	g.mu.Unlock()
	if !due {
		return st.at
	}
	at, err := g.src.LastScrape(ctx, service)
	if err != nil {
		at = now // no job or Prometheus down: a new period, so read again
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if at.After(gs.scrape.at) {
		gs.scrape.at = at
	}
	return gs.scrape.at
}
