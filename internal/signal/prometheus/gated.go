package prometheus

import (
	"context"
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

	mu      sync.Mutex
	scrape  map[string]scrapeState // by service
	cache   map[gateKey]gateEntry
	watched map[string]int       // services whose scrapes Watch follows, by watches
	hub     *Hub                 // shares the watches; nil until the first Watch of NewGated's
	shared  *Hub                 // Hub.Gate's, set before use: counts reads
	lastAt  map[string]time.Time // by service: the At of the newest read, for shared's counts
}

type scrapeState struct {
	checked time.Time // when LastScrape was last asked (ripcord's clock)
	at      time.Time // the newest scrape it reported
}

type gateKey struct{ service, version, metric string }

type gateEntry struct {
	scrape time.Time // scrape the answer belongs to (or read time without a job)
	sample signal.Sample
	err    error
}

var _ signal.Source = (*Gated)(nil)

// NewGated gates src, checking for new scrapes every poll (e.g. 100ms).
func NewGated(src *Source, poll time.Duration) *Gated {
	return &Gated{src: src, poll: poll, scrape: map[string]scrapeState{}, cache: map[gateKey]gateEntry{}, watched: map[string]int{}, lastAt: map[string]time.Time{}}
}

// Scope is the one service the source answers for ("" when it has
// several), so a daemon asks each service's metrics of its own gate only.
func (g *Gated) Scope() string {
	if len(g.src.services) != 1 {
		return ""
	}
	for name := range g.src.services {
		return name
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
		if !g.lastAt[q.Service].Equal(q.At) { // a new evaluation (or a baseline read)
			g.lastAt[q.Service] = q.At
			g.shared.evals.Add(1)
		}
		g.mu.Unlock()
	}
	mark := g.latest(ctx, q.Service, q.At)
	k := gateKey{q.Service, q.Version, q.Metric}
	g.mu.Lock()
	e, ok := g.cache[k]
	g.mu.Unlock()
	if ok && !mark.After(e.scrape) {
		return e.sample, e.err
	}
	g.mu.Lock()
	var hub *Hub
	if g.watched[q.Service] > 0 {
		hub = g.hub // its batches follow this service's scrapes
	}
	g.mu.Unlock()
	smp, err := g.src.read(ctx, q, mark, hub) // hub's batch may have read it for mark

	g.mu.Lock()
	g.cache[k] = gateEntry{scrape: mark, sample: smp, err: err}
	g.mu.Unlock()
	return smp, err
}

// latest returns the newest scrape time known for service, asking
// Prometheus at most every poll. Without a job (or when the question fails)
// it returns the start of the current poll period, which spaces reads out.
func (g *Gated) latest(ctx context.Context, service string, now time.Time) time.Time {
	g.mu.Lock()
	st := g.scrape[service]
	if g.watched[service] > 0 {
		g.mu.Unlock()
		return st.at // Watch keeps it current
	}
	due := now.Sub(st.checked) >= g.poll
	if due {
		st.checked = now
		g.scrape[service] = st
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
	st = g.scrape[service]
	if at.After(st.at) {
		st.at = at
	}
	g.scrape[service] = st
	return st.at
}
