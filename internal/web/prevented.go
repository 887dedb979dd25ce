package web

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ripcord/ripcord/internal/store"
)

// SparedHorizon is the estimate's assumption: without ripcord, a person
// would have rolled the bad version back this long after ripcord did (a
// page, a look, a decision, a deploy). Users spared are the requests the
// bad version would have served in that time at its rate just before the
// rollback, counting one request as one user (an upper bound where users
// send several).
const SparedHorizon = 15 * time.Minute

// rateSpan is how far before a rollback the bad version's rate is read.
const rateSpan = time.Minute

// Counts is what ripcord prevented, over every recorded rollback.
type Counts struct {
	Rollbacks   int64 // reverts that completed (automatic, fallback, manual)
	BadRequests int64 // requests the reverted versions served before the revert
	BadErrors   int64 // of which failed
	Spared      int64 // estimated users spared (see SparedHorizon)
	Horizon     time.Duration
}

type impact struct{ bad, errs, spared int64 }

// Prevented keeps Counts current (refreshed by the live feed) and exports
// them on /metrics.
type Prevented struct {
	s *Server

	mu     sync.Mutex
	counts Counts
	cache  map[int64]impact // by decision: final once a minute old
}

func newPrevented(s *Server) *Prevented {
	return &Prevented{s: s, cache: map[int64]impact{}, counts: Counts{Horizon: SparedHorizon}}
}

// Counts returns the last computed counts.
func (p *Prevented) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

func reverted(d store.Decision) bool {
	return d.Status == store.DecisionDone && (d.Action == "rollback" || d.Action == "fallback" || d.Action == "manual_rollback")
}

// refresh recounts from the store. A decision's impact is read once it is
// a minute old (its points are all in by then) and kept.
func (p *Prevented) refresh(ctx context.Context) {
	ds, err := p.s.store.ListDecisions(ctx, "", 1<<20)
	if err != nil {
		p.s.log.Warn("prevented counter: reading decisions failed", "err", err)
		return
	}
	now := p.s.now()
	c := Counts{Horizon: SparedHorizon}
	for _, d := range ds {
		if !reverted(d) {
			continue
		}
		c.Rollbacks++
		p.mu.Lock()
		im, ok := p.cache[d.ID]
		p.mu.Unlock()
		if !ok {
			if im, err = p.impactOf(ctx, d); err != nil {
				p.s.log.Warn("prevented counter: reading metrics failed", "err", err)
				continue
			}
			if now.Sub(d.CreatedAt) > time.Minute {
				p.mu.Lock()
				p.cache[d.ID] = im
				p.mu.Unlock()
			}
		}
		c.BadRequests += im.bad
		c.BadErrors += im.errs
		c.Spared += im.spared
	}
	p.mu.Lock()
	p.counts = c
	p.mu.Unlock()
}

// impactOf reads what the reverted version served from its impact start
// (the incident's, else 15 minutes back) to a few seconds after the
// decision (requests in flight at the switch), and its rate in the last
// minute before it.
func (p *Prevented) impactOf(ctx context.Context, d store.Decision) (impact, error) {
	from := d.CreatedAt.Add(-SparedHorizon)
	if d.IncidentID != "" {
		if inc, err := p.s.store.GetIncident(ctx, d.IncidentID); err == nil && !inc.ImpactStartedAt.IsZero() && inc.ImpactStartedAt.After(from) {
			from = inc.ImpactStartedAt.Add(-time.Second)
		}
	}
	pts, err := p.s.store.Metrics(ctx, d.Service, from, d.CreatedAt.Add(5*time.Second))
	if err != nil {
		return impact{}, err
	}
	var im impact
	var recent int64
	for _, pt := range pts {
		if pt.Version != d.FromVersion {
			continue
		}
		im.bad += pt.Requests
		im.errs += pt.Errors
		if !pt.At.After(d.CreatedAt) && pt.At.After(d.CreatedAt.Add(-rateSpan)) {
			recent += pt.Requests
		}
	}
	im.spared = int64(float64(recent) / rateSpan.Seconds() * SparedHorizon.Seconds())
	return im, nil
}

var (
	rollbacksDesc = prometheus.NewDesc("ripcord_prevented_rollbacks_total", "Reverts ripcord completed (automatic, fallback and manual), over the store's history.", nil, nil)
	badReqDesc    = prometheus.NewDesc("ripcord_prevented_bad_version_requests_total", "Requests served by versions ripcord reverted, before the revert.", nil, nil)
	sparedDesc    = prometheus.NewDesc("ripcord_prevented_users_spared_estimate",
		"Estimated users spared: requests the reverted versions would have served in the 15 min a person would have taken, at their rate just before the revert.", nil, nil)
)

// Describe implements prometheus.Collector.
func (p *Prevented) Describe(ch chan<- *prometheus.Desc) {
	ch <- rollbacksDesc
	ch <- badReqDesc
	ch <- sparedDesc
}

// Collect implements prometheus.Collector.
func (p *Prevented) Collect(ch chan<- prometheus.Metric) {
	c := p.Counts()
	ch <- prometheus.MustNewConstMetric(rollbacksDesc, prometheus.CounterValue, float64(c.Rollbacks))
	ch <- prometheus.MustNewConstMetric(badReqDesc, prometheus.CounterValue, float64(c.BadRequests))
	ch <- prometheus.MustNewConstMetric(sparedDesc, prometheus.GaugeValue, float64(c.Spared))
}
