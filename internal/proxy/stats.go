package proxy

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// slotDur is the granularity of windowed statistics.
const slotDur = 100 * time.Millisecond

// spareSlots are ring slots beyond the retention that readers never look at:
// a slot is recycled only this many slot durations after it left the readable
// range, so a reader would have to stall that long to see a slot change under
// it (it then notices through the epoch stamp and reads again).
const spareSlots = 4

// outcome classifies a completed request for the statistics.
type outcome uint8

const (
	outcomeOK      outcome = iota // any status below 500, 4xx included
	outcome5xx                    // the version answered 5xx
	outcomeConnErr                // connection failure, timeout or broken body
	// outcomeStreamErr is an answer that began well and failed as it
	// streamed: an SSE "event: error". An error, not a 5xx.
	outcomeStreamErr
)

// answered is the outcome of an answer relayed to its end: a 5xx status,
// else an SSE stream that reported an error, else fine.
func answered(status int, streamFailed bool) outcome {
	switch {
	case status >= 500:
		return outcome5xx
	case streamFailed:
		return outcomeStreamErr
	}
	return outcomeOK
}

// slot holds the counts of requests that completed during one slotDur.
// epoch is the slot's index (unix nanos / slotDur) once stamped; 0 means never
// used and -1 means being recycled by a writer.
//
// Slots are not padded to cache lines: every writer at one moment records
// into the same (current) slot, so neighbours are not written concurrently,
// and padding cost 24 bytes × 604 slots = 14.5 KB per version
// (BenchmarkRecordClock, which crosses slot boundaries, did not change).
type slot struct {
	epoch  atomic.Int64
	errors atomic.Int64
	s5xx   atomic.Int64
	hist   atomic.Pointer[histogram] // its total is the slot's request count
	// ttfb is the time-to-first-byte distribution, kept only once a ttfb
	// bound was tracked for the version (series.ttfbOn): most services
	// never ask, and a histogram is 8 KB per slot.
	ttfb atomic.Pointer[histogram]
}

// series is one version's statistics: a ring of slots plus cumulative totals.
// Writers touch only the slot of the current time, with atomics; there is no
// lock anywhere.
type series struct {
	created   time.Time
	retention int64 // slots readable back from "now"
	slots     []slot
	totalReq  atomic.Uint64
	totalErr  atomic.Uint64
	// unsolicited counts bytes the version sent on idle connections or
	// after an answer's end (see junk.go).
	unsolicited atomic.Uint64
	// cur is the counter generation new requests join (evidence.go).
	cur    atomic.Pointer[gen]
	ttfbOn atomic.Bool
	// spec is the bounds last tracked for the version (Switch.mu).
	spec []boundSpec
}

func newSeries(created time.Time, retention time.Duration) *series {
	n := int64((retention + slotDur - 1) / slotDur)
	if n < 1 {
		n = 1
	}
	s := &series{created: created, retention: n, slots: make([]slot, n+spareSlots)}
	s.cur.Store(newGen(created, nil))
	return s
}

// record counts one completed request that finished at end (unix nanos).
func (s *series) record(end int64, lat time.Duration, o outcome) {
	s.totalReq.Add(1)
	if o != outcomeOK {
		s.totalErr.Add(1)
	}
	idx := end / int64(slotDur)
	sl := &s.slots[idx%int64(len(s.slots))]
	if sl.epoch.Load() != idx && !sl.claim(idx) {
		return // a writer older than the whole ring; totals still have it
	}
	switch o {
	case outcome5xx:
		sl.s5xx.Add(1)
		sl.errors.Add(1)
	case outcomeConnErr, outcomeStreamErr:
		sl.errors.Add(1)
	}
	sl.hist.Load().add(lat)
}

// recordTTFB adds one time to first byte to the slot of end (unix nanos), if
// ttfb is kept. A slot claimed before it was turned on gets its histogram
// now, once.
func (s *series) recordTTFB(end int64, ttfb time.Duration) {
	if !s.ttfbOn.Load() {
		return
	}
	idx := end / int64(slotDur)
	sl := &s.slots[idx%int64(len(s.slots))]
	if sl.epoch.Load() != idx {
		return // recycled since the request was recorded
	}
	h := sl.ttfb.Load()
	if h == nil {
		sl.ttfb.CompareAndSwap(nil, new(histogram))
		h = sl.ttfb.Load()
	}
	h.add(ttfb)
}

// claim makes the slot hold index idx, recycling it if it holds an older one.
// It reports false if the slot already moved past idx.
func (sl *slot) claim(idx int64) bool {
	for {
		e := sl.epoch.Load()
		switch {
		case e == idx:
			return true
		case e == -1:
			runtime.Gosched() // another writer is recycling it
			continue
		case e > idx:
			return false
		}
		if !sl.epoch.CompareAndSwap(e, -1) {
			continue
		}
		sl.errors.Store(0)
		sl.s5xx.Store(0)
		if h := sl.hist.Load(); h != nil {
			h.reset()
		} else {
			sl.hist.Store(new(histogram))
		}
		if h := sl.ttfb.Load(); h != nil {
			h.reset()
		}
		sl.epoch.Store(idx)
		return true
	}
}

// Snapshot is a version's statistics over a window: counts and a copy of the
// latency histogram of requests that completed in it.
type Snapshot struct {
	Requests, Errors, Status5xx int64 // errors = 5xx + connection failures/timeouts; 4xx is not an error
	From, To                    time.Time

	// Cumulative is the evidence since the version was last activated.
	Cumulative Cumulative

	hist      []uint64 // per-bucket counts, len histBuckets (nil if no requests)
	total     uint64   // sum of hist
	ttfb      []uint64 // the same for time to first byte, nil unless kept
	ttfbTotal uint64
}

// TTFBQuantile returns the time-to-first-byte quantile q over the snapshot,
// 0 if there is none (no ttfb bound tracked, or no answer with a body).
func (s Snapshot) TTFBQuantile(q float64) time.Duration {
	return quantileOf(s.ttfb, s.ttfbTotal, q)
}

// TTFBSamples is how many answers the TTFB quantiles rest on.
func (s Snapshot) TTFBSamples() int64 { return int64(s.ttfbTotal) }

// Quantile returns the latency quantile q (0..1) over the snapshot, 0 if no
// requests. Relative error is below 1% (bucket midpoint).
func (s Snapshot) Quantile(q float64) time.Duration {
	return quantileOf(s.hist, s.total, q)
}

// String summarises the snapshot for logs.
func (s Snapshot) String() string {
	return fmt.Sprintf("requests=%d errors=%d 5xx=%d p50=%v p99=%v span=%v",
		s.Requests, s.Errors, s.Status5xx, s.Quantile(0.5), s.Quantile(0.99), s.To.Sub(s.From))
}

// ErrorRate is Errors/Requests, 0 if there were none.
func (s Snapshot) ErrorRate() float64 { return ratio(s.Errors, s.Requests) }

// Rate5xx is Status5xx/Requests, 0 if there were none.
func (s Snapshot) Rate5xx() float64 { return ratio(s.Status5xx, s.Requests) }

// Throughput is Requests per second over To-From (0 for an empty span).
func (s Snapshot) Throughput() float64 {
	span := s.To.Sub(s.From).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(s.Requests) / span
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// snapshot sums the slots overlapping [since, now], clamped to the retention
// and to the series' creation. A slot is included whole, so From is the start
// of the first included slot (or the creation time if later); the current,
// still open slot is included so detection never waits for it to close.
func (s *series) snapshot(since, now time.Time) Snapshot {
	hi := now.UnixNano() / int64(slotDur)
	lo := hi - s.retention + 1
	if si := since.UnixNano() / int64(slotDur); si > lo {
		lo = si
	}
	if ci := s.created.UnixNano() / int64(slotDur); ci > lo {
		lo = ci
	}
	snap := Snapshot{To: now, From: time.Unix(0, lo*int64(slotDur))}
	if s.created.After(snap.From) {
		snap.From = s.created
	}
	if since.After(now) || lo > hi {
		snap.From = now
		return snap
	}
	for attempt := 0; ; attempt++ {
		if s.sumSlots(&snap, lo, hi) || attempt == 3 {
			snap.Requests = int64(snap.total)
			return snap
		}
	}
}

// sumSlots fills snap from slots lo..hi. It reports false if a slot was
// recycled while being read, in which case snap must be read again.
func (s *series) sumSlots(snap *Snapshot, lo, hi int64) bool {
	snap.Requests, snap.Errors, snap.Status5xx, snap.total, snap.ttfbTotal = 0, 0, 0, 0, 0
	if snap.hist != nil {
		clear(snap.hist)
	}
	if snap.ttfb != nil {
		clear(snap.ttfb)
	}
	n := int64(len(s.slots))
	for i := lo; i <= hi; i++ {
		sl := &s.slots[i%n]
		if sl.epoch.Load() != i {
			continue // empty, recycled or being recycled: not in the window
		}
		if snap.hist == nil {
			snap.hist = make([]uint64, histBuckets)
		}
		snap.Errors += sl.errors.Load()
		snap.Status5xx += sl.s5xx.Load()
		snap.total += sl.hist.Load().sumInto(snap.hist)
		if h := sl.ttfb.Load(); h != nil {
			if snap.ttfb == nil {
				snap.ttfb = make([]uint64, histBuckets)
			}
			snap.ttfbTotal += h.sumInto(snap.ttfb)
		}
		if sl.epoch.Load() != i {
			return false
		}
	}
	return true
}
