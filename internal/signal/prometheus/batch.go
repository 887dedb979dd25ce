package prometheus

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/prometheus/common/model"

	"github.com/ripcord/ripcord/internal/signal"
)

// Batched reads: as a scrape of a job lands, the Hub reads every counts
// metric of every service on that job with one query per metric and form
// of template, instead of one per (service, version, metric).
//
// Who is in a batch: every version whose tally was read within
// batchRecent — the versions the controllers judge. A version's first read
// (its base) is made alone, so that a deploy is judged from the next scrape
// on, unless loneBases of them are in flight already (10,000 services
// starting at once): then the read answers no data and the job's next
// batch takes the base, which is the same read (a base adds nothing). A
// template whose rendered form is not a shape (see shape.go: a selector, maybe summed, maybe "or vector(0)"),
// and every metric under queries (a windowed value over arbitrary PromQL,
// one number per query) are read per service, as before; the Hub counts
// those as Alone.
//
// The batched query widens each equality matcher whose value differs
// between the members into a regular expression over their values (each
// quoted with regexp.QuoteMeta) and, for a sum, adds those labels to its
// grouping; each member's part of the answer is the series carrying its
// values, relabelled as its own query would return them. So each member's
// tally gets exactly the series its own query would have got, from one
// state of the database; the tally rules of counts.go (cumulative, never a
// request counted twice, a drop makes a new base) apply unchanged. Dropping
// "or vector(0)" changes no tally: its zero series adds nothing.

// batchRecent is how long after its last read a version stays in batches.
const batchRecent = time.Minute

// loneBases is how many bases a Hub's services read alone at once.
const loneBases = 4

// errBaseDeferred is the answer to a first read left to the next batch.
var errBaseDeferred = errors.New("first read of the version left to the job's next batched read")

// member is one (service, version, metric) tally a batch answers.
type member struct {
	st     *countState
	hist   bool
	shapes []*shape // the histogram's, or the total's and the bad's
}

// pending returns service's counts tallies that a batch at at may answer;
// tallies whose template cannot be batched are counted in alone.
func (s *Source) pending(service string, at time.Time, alone *int64) []member {
	svc := s.service(service)
	if svc == nil || len(svc.counts) == 0 {
		return nil
	}
	var out []member
	for _, t := range s.tallies(service) {
		st, k, cq := t.st, t.key, svc.counts[t.key.metric]
		if cq == nil {
			continue
		}
		st.mu.Lock()
		ok := nanos(at)-st.used <= int64(batchRecent)
		var shs []*shape
		if ok {
			shs, ok = st.shapesFor(s, svc, cq, signal.Query{Service: k.service, Version: k.version, Metric: k.metric})
			if !ok {
				*alone++
			}
		}
		st.mu.Unlock()
		if ok {
			out = append(out, member{st: st, hist: cq.hist != nil, shapes: shs})
		}
	}
	return out
}

// shapesFor renders cq for q and parses the result, reusing the last parse
// while the rendered text stays the same. st.mu is held.
func (st *countState) shapesFor(s *Source, svc *service, cq *countQueries, q signal.Query) ([]*shape, bool) {
	vars := s.varsFor(svc, q)
	var texts []string
	for _, t := range []*queryTemplate{cq.hist, cq.total, cq.bad} {
		if t == nil {
			continue
		}
		r, err := t.render(vars, svc.cfg.Window)
		if err != nil {
			return nil, false
		}
		texts = append(texts, r)
	}
	sum := textSum(texts)
	if st.shaped && sum == st.shapeSum {
		return st.shapes, st.shapes != nil
	}
	st.shaped, st.shapeSum, st.shapes = true, sum, nil
	var shs []*shape
	for _, r := range texts {
		sh, ok := parseShape(r)
		if !ok {
			return nil, false
		}
		shs = append(shs, sh)
	}
	st.shapes = shs
	return shs, true
}

// shapeSeeds key textSum: two 64-bit hashes, so two different renderings
// that sum the same (which would keep a stale parse) is a 2^-128 chance.
var shapeSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// textSum stands for the rendered templates in a tally, where the text
// itself (a few hundred bytes a version) would be kept only to see that
// it has not changed.
func textSum(texts []string) [2]uint64 {
	var sum [2]uint64
	for i, seed := range shapeSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		for _, t := range texts {
			_, _ = h.WriteString(t)
			_ = h.WriteByte(0)
		}
		sum[i] = h.Sum64()
	}
	return sum
}

// prefetch runs the batched queries for the scrape at mark and applies each
// member's part to its tally, marking it read for that scrape.
func (h *Hub) prefetch(ctx context.Context, c *Client, subs []*subscriber, mark time.Time) {
	at := time.Now()
	groups := map[string][]member{}
	var order []string
	var alone int64
	for _, sub := range subs {
		for _, m := range sub.g.src.pending(sub.service, at, &alone) {
			key := fmt.Sprint(m.hist)
			for _, sh := range m.shapes {
				key += "\x00" + sh.key()
			}
			if groups[key] == nil {
				order = append(order, key)
			}
			groups[key] = append(groups[key], m)
		}
	}
	h.alone.Add(alone)
	for _, key := range order {
		h.read(ctx, c, groups[key], at, mark)
	}
}

// read sends one group's query and applies the parts. A failed query is
// each member's answer until the next scrape.
func (h *Hub) read(ctx context.Context, c *Client, ms []member, at, mark time.Time) {
	nparts := len(ms[0].shapes)
	queries := make([]string, nparts)
	varying := make([][]string, nparts)
	for p := range nparts {
		shs := make([]*shape, len(ms))
		for i, m := range ms {
			shs[i] = m.shapes[p]
		}
		queries[p], varying[p] = batch(shs)
	}
	query := queries[0]
	if !ms[0].hist {
		tag := func(expr, part string) string {
			return fmt.Sprintf("label_replace(\n%s\n, %q, %q, \"__name__\", \".*\")", expr, partLabel, part)
		}
		query = tag(queries[0], "total") + " or " + tag(queries[1], "bad")
	}
	h.queries.Add(1)
	h.members.Add(int64(len(ms)))
	h.last.Store(int64(len(ms)))
	vec, err := c.Vector(ctx, query, at)
	if err != nil {
		// Every member answers this failure for this scrape (no data:
		// Blind), rather than 10,000 reads retrying alone at once.
		c.log.Debug("prometheus batched read", "members", len(ms), "err", err)
		err = compact(err, fmt.Sprintf("batched read of %d versions", len(ms)))
		for _, m := range ms {
			m.st.mu.Lock()
			m.st.batched, m.st.batchErr = mark.UnixNano(), err
			m.st.mu.Unlock()
		}
		return
	}
	var parts []model.Vector
	if ms[0].hist {
		parts = []model.Vector{vec}
	} else {
		parts = make([]model.Vector, 2)
		for _, s := range vec {
			switch s.Metric[partLabel] {
			case "total":
				parts[0] = append(parts[0], s)
			case "bad":
				parts[1] = append(parts[1], s)
			}
		}
	}
	groups := make([]map[string]model.Vector, len(parts))
	for p := range parts {
		groups[p] = byValues(parts[p], varying[p])
	}
	for _, m := range ms {
		var mine model.Vector
		for p, sh := range m.shapes {
			mine = append(mine, sh.pick(groups[p], varying[p])...)
		}
		m.st.mu.Lock()
		if at.After(m.st.lastAt) && m.st.apply(at, mine, m.hist) == nil {
			m.st.batched, m.st.batchErr = mark.UnixNano(), nil
		}
		m.st.mu.Unlock()
	}
}

// compact is a batched read's failure without the query, which names every
// member's labels: the cause and signal.ErrNoData stay in the chain.
func compact(err error, what string) error {
	cause := err
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if e != signal.ErrNoData {
				cause = e
			}
		}
	}
	return fmt.Errorf("prometheus: %s: %w: %w", what, signal.ErrNoData, cause)
}

// fail makes err (the job's scrape times unreadable: Prometheus down) the
// answer of every counts tally of service until the next scrape, so an
// outage costs one failed question per job, not one per version.
func (s *Source) fail(service string, mark time.Time, err error) {
	for _, t := range s.tallies(service) {
		st := t.st
		st.mu.Lock()
		if !st.since.IsZero() {
			st.batched, st.batchErr = mark.UnixNano(), err
		}
		st.mu.Unlock()
	}
}
