package proxy

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Remote holds the reports other replicas' switches sent for one service,
// to be added to the local switch's statistics (Merge). It is safe for
// concurrent use.
//
// Window: the latest content of every reported slot, per replica and
// version, kept for the retention; a slot reported again replaces the
// stored one when it holds at least as many requests (a slot only grows,
// so a late or repeated report never double counts or shrinks it).
//
// Cumulative: per replica and version, every counter generation it
// reported (by its start), each at the field-wise maximum of its reports.
// A generation counts for the leader's current generation if it began no
// earlier than GenSlack before it. It keeps counting after its replica
// went quiet or moved on to a new generation: those requests happened in
// this watch, and dropping them would make the sum go backwards, which a
// sequential test reads as a restarted counter and counts everything again
// (detect's seqTest.fold). It stops counting only when the leader's own
// generation moves on (the version was activated again: a new watch).
type Remote struct {
	applied   atomic.Uint64 // requests the reports added (Applied)
	mu        sync.Mutex
	retention int64 // slots
	replicas  map[string]*remoteReplica
}

// GenSlack is how much earlier than the leader's generation a replica's
// generation may have begun and still belong to the same watch: replicas
// activate a version a few ms apart (they follow the shared active
// version), on clocks that differ by NTP's error. Detect accepts the same
// second between a switch's counters and a watch's start (countsSlack).
const GenSlack = time.Second

// maxRemoteGens bounds the generations kept per replica and version that
// no merge has placed yet (a version no guard reads); ones a merge placed
// before the leader's generation are dropped as soon as it has.
const maxRemoteGens = 16

type remoteReplica struct {
	versions map[string]*remoteVersion
}

type remoteVersion struct {
	slots []remoteSlot // by increasing i, only non-empty ones
	gens  []WireCumulative
	floor int64 // gens starting before this (unix ns) no longer count
}

type remoteSlot struct {
	i            int64
	req, ttfbN   uint64
	errors, s5xx int64
	lat, ttfb    []uint32
	sig          []SignalReport
}

// NewRemote keeps slots for retention (at least the policy window: the
// local switch's Options.Retention).
func NewRemote(retention time.Duration) *Remote {
	r := &Remote{replicas: map[string]*remoteReplica{}}
	r.SetRetention(retention)
	return r
}

// SetRetention changes how long slots are kept.
func (r *Remote) SetRetention(retention time.Duration) {
	if retention <= 0 {
		retention = DefaultRetention
	}
	r.mu.Lock()
	r.retention = int64((retention + slotDur - 1) / slotDur)
	r.mu.Unlock()
}

// Retention is the switch's stats retention (Options.Retention).
func (s *Switch) Retention() time.Duration { return s.opts.Retention }

// Apply stores one replica's validated reports. It reports whether they
// hold new bad evidence (more errors, mismatches or answers above a
// bound than that generation had reported), so the caller can wake the
// controller.
func (r *Remote) Apply(replica string, reps []VersionReport) (bad bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rr := r.replicas[replica]
	if rr == nil {
		rr = &remoteReplica{versions: map[string]*remoteVersion{}}
		r.replicas[replica] = rr
	}
	for i := range reps {
		rep := &reps[i]
		rv := rr.versions[rep.Version]
		if rv == nil {
			rv = &remoteVersion{}
			rr.versions[rep.Version] = rv
		}
		for _, sr := range rep.Slots {
			rv.put(sr, rep.To-r.retention)
		}
		rv.prune(rep.To - r.retention)
		if rv.addGen(rep.Cumulative, &r.applied) {
			bad = true
		}
	}
	return bad
}

func (rv *remoteVersion) put(sr SlotReport, oldest int64) {
	if sr.I <= oldest {
		return
	}
	s := remoteSlot{i: sr.I, errors: sr.Errors, s5xx: sr.S5xx, lat: sr.Latency, ttfb: sr.TTFB, sig: sr.Signals,
		req: pairsTotal(sr.Latency), ttfbN: pairsTotal(sr.TTFB)}
	n := len(rv.slots)
	if n == 0 || rv.slots[n-1].i < s.i {
		rv.slots = append(rv.slots, s)
		return
	}
	k := sort.Search(n, func(j int) bool { return rv.slots[j].i >= s.i })
	if k < n && rv.slots[k].i == s.i {
		if old := rv.slots[k]; s.req > old.req || (s.req == old.req && s.errors >= old.errors && sigTotal(s.sig) >= sigTotal(old.sig)) {
			rv.slots[k] = s
		}
		return
	}
	rv.slots = slices.Insert(rv.slots, k, s)
}

func (rv *remoteVersion) prune(oldest int64) {
	k := 0
	for k < len(rv.slots) && rv.slots[k].i <= oldest {
		k++
	}
	if k > 0 {
		rv.slots = slices.Delete(rv.slots, 0, k)
	}
}

// addGen folds a generation's counts in, field by field at the maximum
// (counts only grow within a generation; a late report is an older view).
func (rv *remoteVersion) addGen(c WireCumulative, applied *atomic.Uint64) (bad bool) {
	if c.Since < rv.floor {
		return false // a generation of a watch that is over
	}
	k := sort.Search(len(rv.gens), func(j int) bool { return rv.gens[j].Since >= c.Since })
	if k == len(rv.gens) || rv.gens[k].Since != c.Since {
		rv.gens = slices.Insert(rv.gens, k, WireCumulative{Since: c.Since})
		if len(rv.gens) > maxRemoteGens {
			rv.gens = slices.Delete(rv.gens, 0, 1)
			k--
		}
		if k < 0 {
			return false
		}
	}
	g := &rv.gens[k]
	bad = c.Errors > g.Errors || c.Mismatched > g.Mismatched
	if c.Requests > g.Requests {
		applied.Add(uint64(c.Requests - g.Requests))
	}
	g.Requests, g.Errors, g.Status5xx = max(g.Requests, c.Requests), max(g.Errors, c.Errors), max(g.Status5xx, c.Status5xx)
	g.Compared, g.Mismatched = max(g.Compared, c.Compared), max(g.Mismatched, c.Mismatched)
	for _, b := range c.Bounds {
		j := slices.IndexFunc(g.Bounds, func(x WireBound) bool { return x.TTFB == b.TTFB && x.Bound == b.Bound })
		if j < 0 {
			g.Bounds = append(g.Bounds, WireBound{TTFB: b.TTFB, Bound: b.Bound})
			j = len(g.Bounds) - 1
		}
		x := &g.Bounds[j]
		if b.Above > x.Above {
			bad = true
		}
		x.N, x.Above = max(x.N, b.N), max(x.Above, b.Above)
	}
	return bad
}

func sigTotal(sig []SignalReport) int64 {
	var n int64
	for _, x := range sig {
		n += x.N
	}
	return n
}

// Signal adds the other replicas' values of a header-fed metric for
// version over [since, now] (fresh replicas only, as Merge's window) to
// sum and n.
func (r *Remote) Signal(version, metric string, since, now time.Time, fresh func(replica string) bool) (sum float64, n int64) {
	lo, hi := since.UnixNano()/int64(slotDur), now.UnixNano()/int64(slotDur)
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, rr := range r.replicas {
		rv := rr.versions[version]
		if rv == nil || !fresh(name) {
			continue
		}
		k := sort.Search(len(rv.slots), func(j int) bool { return rv.slots[j].i >= lo })
		for ; k < len(rv.slots) && rv.slots[k].i <= hi; k++ {
			for _, x := range rv.slots[k].sig {
				if x.Metric == metric {
					sum += x.Sum
					n += x.N
				}
			}
		}
	}
	return sum, n
}

func pairsTotal(p []uint32) uint64 {
	var t uint64
	for i := 1; i < len(p); i += 2 {
		t += uint64(p[i])
	}
	return t
}

// Merge adds the other replicas' statistics for version to snap, the
// local switch's Stats(version, since, now): the window from the replicas
// fresh reports only (fresh(replica) false: left out of the window), over
// the same slots snap covers; the cumulative counts from every replica's
// generations of the leader's current generation (snap.Cumulative.Since),
// fresh or not (see Remote). A snapshot without a local generation (the
// leader's switch does not know the version) gets no remote cumulative
// counts: there is no watch to place them in.
func (r *Remote) Merge(snap *Snapshot, version string, since, now time.Time, fresh func(replica string) bool) {
	hi := now.UnixNano() / int64(slotDur)
	lo := snap.From.UnixNano() / int64(slotDur)
	window := !since.After(now)
	L := snap.Cumulative.Since
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, rr := range r.replicas {
		rv := rr.versions[version]
		if rv == nil {
			continue
		}
		if window && fresh(name) {
			rv.sumInto(snap, lo, hi)
		}
		if !L.IsZero() {
			rv.floor = max(rv.floor, L.Add(-GenSlack).UnixNano())
			k := 0
			for k < len(rv.gens) && rv.gens[k].Since < rv.floor {
				k++
			}
			rv.gens = slices.Delete(rv.gens, 0, k)
			for _, g := range rv.gens {
				addCumulative(&snap.Cumulative, g)
			}
		}
	}
	snap.Requests = int64(snap.total)
}

func (rv *remoteVersion) sumInto(snap *Snapshot, lo, hi int64) {
	k := sort.Search(len(rv.slots), func(j int) bool { return rv.slots[j].i >= lo })
	for ; k < len(rv.slots) && rv.slots[k].i <= hi; k++ {
		s := &rv.slots[k]
		snap.Errors += s.errors
		snap.Status5xx += s.s5xx
		if len(s.lat) > 0 {
			if snap.hist == nil {
				snap.hist = make([]uint64, histBuckets)
			}
			addPairs(snap.hist, s.lat)
			snap.total += s.req
		}
		if len(s.ttfb) > 0 {
			if snap.ttfb == nil {
				snap.ttfb = make([]uint64, histBuckets)
			}
			addPairs(snap.ttfb, s.ttfb)
			snap.ttfbTotal += s.ttfbN
		}
	}
}

func addPairs(dst []uint64, p []uint32) {
	for i := 0; i+1 < len(p); i += 2 {
		dst[p[i]] += uint64(p[i+1])
	}
}

// addCumulative adds a remote generation to c. Only bounds c tracks are
// added: the guard asks for those, and a bound a replica counts but the
// leader does not has nothing to add to.
func addCumulative(c *Cumulative, g WireCumulative) {
	c.Requests += g.Requests
	c.Errors += g.Errors
	c.Status5xx += g.Status5xx
	c.Compared += g.Compared
	c.Mismatched += g.Mismatched
	for i := range c.Bounds {
		b := &c.Bounds[i]
		for _, x := range g.Bounds {
			if x.TTFB == b.TTFB && x.Bound == b.Bound {
				b.N += x.N
				b.Above += x.Above
			}
		}
	}
}

// Applied counts the requests other replicas reported so far (every
// version): it grows whenever a report brought new ones, so a controller
// that slows down for an idle service (Switch.Activity) sees the other
// replicas' traffic as activity too.
func (r *Remote) Applied() uint64 { return r.applied.Load() }

// DropWindow frees a replica's slots (it has been quiet so long its window
// cannot matter), keeping the generations that may still count; a replica
// left with none is forgotten.
func (r *Remote) DropWindow(replica string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rr := r.replicas[replica]
	if rr == nil {
		return
	}
	for name, rv := range rr.versions {
		rv.slots = nil
		if len(rv.gens) == 0 {
			delete(rr.versions, name)
		}
	}
	if len(rr.versions) == 0 {
		delete(r.replicas, replica)
	}
}

// Replicas lists the replicas holding reports.
func (r *Remote) Replicas() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.replicas))
	for name := range r.replicas {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
