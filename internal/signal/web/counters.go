package web

import (
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// counters turns the endpoint's raw counters (totals since its process
// started) into totals since ripcord first read them, surviving restarts:
// the first reading is the base; when either counter went down the process
// restarted, and both new values are all new. The totals only grow, so the sequential test
// counts every request once.
type counters struct {
	lastReq, lastErr float64
	reqs, errs       float64
	valid            bool // the last reading had both counters
	started          bool
	ring             []snapshot
}

type snapshot struct {
	at         time.Time
	reqs, errs float64
}

// observeCounters folds a reading's counters in.
func (s *Source) observeCounters(q signal.Query, r reading) {
	req, okR := r.values[KeyRequests]
	errs, okE := r.values[KeyErrors]
	if _, has := s.services[q.Service].paths[KeyRequests]; !has {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{q.Service, q.Version}
	c := s.counters[k]
	if c == nil {
		if len(s.counters) >= 1024 {
			clear(s.counters) // versions come and go; bases restart, which is safe
		}
		c = &counters{}
		s.counters[k] = c
	}
	c.valid = okR && okE && req >= 0 && errs >= 0
	if !c.valid {
		return
	}
	switch {
	case !c.started:
	case req < c.lastReq || errs < c.lastErr:
		// one process restarted both: everything counted now is new (its
		// errors may well exceed the old count, so judge them together)
		c.reqs += req
		c.errs += errs
	default:
		c.reqs += req - c.lastReq
		c.errs += errs - c.lastErr
	}
	c.lastReq, c.lastErr, c.started = req, errs, true
	if len(c.ring) == history {
		c.ring = append(c.ring[:0], c.ring[1:]...)
	}
	c.ring = append(c.ring, snapshot{at: r.at, reqs: c.reqs, errs: c.errs})
}

// window is the requests and errors counted since the newest reading no
// later than since (or the oldest kept), and the span; false with one
// reading.
func (c *counters) window(since time.Time) (reqs, errs float64, span time.Duration, ok bool) {
	if len(c.ring) < 2 {
		return 0, 0, 0, false
	}
	base := c.ring[0]
	for i := len(c.ring) - 2; i >= 0; i-- {
		if !c.ring[i].at.After(since) {
			base = c.ring[i]
			break
		}
	}
	last := c.ring[len(c.ring)-1]
	return last.reqs - base.reqs, last.errs - base.errs, last.at.Sub(base.at), true
}
