package proxy

import (
	"time"
)

// Track tells the switch which bounds a watch of version tests, so that
// its samples carry counts above them (Snapshot.Cumulative.Bounds): the
// keys are metric names — latency_* count latency, ttfb_* time to first
// byte, others are ignored — and the bounds are in ms, reported back
// exactly as given. Bounds already counted keep their counts; the version's
// next generations (activations) count the latest ones from their start.
// The controller finds this method through its BoundsTracker interface.
func (s *Switch) Track(version string, bounds map[string][]float64) {
	spec := boundSpecs(bounds)
	s.mu.Lock()
	defer s.mu.Unlock()
	v := (*s.versions.Load())[version]
	if v == nil {
		return
	}
	v.stats.spec = spec
	s.lastSpec = spec
	for _, b := range spec {
		if b.kind == boundTTFB {
			v.stats.ttfbOn.Store(true)
		}
	}
	g := v.stats.cur.Load()
	g.addBounds(spec)
	if len(g.boundList()) < len(spec) {
		s.log.Warn("proxy cannot count every bound", "version", version, "limit", maxBounds)
	}
}

// Evidence is poked (never blocking, coalesced: capacity 1) whenever the
// active, canary or shadow version records bad evidence — an error, or an answer above a
// tracked bound — so the controller can judge at once instead of at its
// next tick.
func (s *Switch) Evidence() <-chan struct{} { return s.evidence }

// restart starts a new counter generation for v, with its own tracked
// bounds or, for a version never tracked, the last ones tracked for any
// (a policy's bounds are the same for every version). Called with s.mu held.
func (s *Switch) restart(v *version) {
	spec := v.stats.spec
	if spec == nil {
		spec = s.lastSpec
	}
	v.stats.cur.Store(newGen(s.now(), spec))
}

// complete records a finished request of v: in the windowed statistics and
// in its generation's evidence. It returns the end time.
func (s *Switch) complete(v *version, f *flight, o outcome) time.Time {
	end := s.now()
	f.release()
	lat := f.latency(end)
	v.stats.record(end.UnixNano(), lat, o)
	if !f.first.IsZero() && !f.noBound {
		v.stats.recordTTFB(end.UnixNano(), f.first.Sub(f.start))
	}
	if f.g.complete(f, lat, o) {
		s.poke(v)
	}
	return end
}

// poke signals Evidence if v is the active version or the canary.
func (s *Switch) poke(v *version) {
	a, sp, sh := s.active.Load(), s.split.Load(), s.shadow.Load()
	if (a == nil || a.stats != v.stats) && (sp == nil || sp.canary.stats != v.stats) && (sh == nil || sh.v.stats != v.stats) {
		return
	}
	select {
	case s.evidence <- struct{}{}:
	default:
	}
	select {
	case s.reportEvidence <- struct{}{}:
	default:
	}
}

// Activity tells a quiet service from a busy one without reading its
// statistics: the requests the live versions (the active one, a canary, a
// version in shadow) have completed so far, and whether one of theirs is still
// waiting for its answer. Two calls with the same count and nothing
// waiting mean no new evidence arrived between them, so an evaluation
// may wait (the controller's trigger slows down for an idle service).
func (s *Switch) Activity() (completed uint64, waiting bool) {
	var shadow *version
	if sh := s.shadow.Load(); sh != nil {
		shadow = sh.v
	}
	for _, v := range [3]*version{s.active.Load(), s.canaryVersion(), shadow} {
		if v == nil {
			continue
		}
		completed += v.stats.totalReq.Load()
		waiting = waiting || v.stats.cur.Load().flight.busy()
	}
	return completed, waiting
}

// canaryVersion is the canary in progress, nil without one.
func (s *Switch) canaryVersion() *version {
	if sp := s.split.Load(); sp != nil {
		return sp.canary
	}
	return nil
}
