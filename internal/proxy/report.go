package proxy

import (
	"fmt"
	"math"
	"time"
)

// Replica reports: with several ripcord replicas each running a switch for
// a service, the leader judges the sum of every replica's traffic. A
// follower sends what its switch counted (Switch.Report) and the leader
// adds the fresh reports to its own switch's statistics (Remote.Merge).
//
// The wire form is the switch's own granularity, so the leader can answer
// any [since, now] as if the requests had crossed its own switch: the
// window as the ring's 100 ms slots, each with its counts and its latency
// and ttfb histograms as sparse (bucket, count) pairs, and the current
// counter generation's cumulative counts with the generation's start.
// A slot is sent whole (never as an increment) until the leader
// acknowledged a report that holds it closed, so a lost or repeated report
// never loses or double counts a request.

// ReportFormat is the version of the wire form below. A leader refuses a
// report in a format it does not read (the field "v").
const ReportFormat = 1

// SlotMillis is the slot duration the reports' slot indices count in.
const SlotMillis = int64(slotDur / time.Millisecond)

// VersionReport is what one replica's switch counted for one version.
type VersionReport struct {
	Version string `json:"version"`
	// From and To are the slots (unix time / 100 ms) the report covers,
	// both included: a slot in that range not in Slots was empty. To is
	// the slot still open when the report was taken.
	From  int64        `json:"from"`
	To    int64        `json:"to"`
	Slots []SlotReport `json:"slots,omitempty"`
	// Cumulative is the version's current counter generation.
	Cumulative WireCumulative `json:"cumulative"`
}

// SlotReport is one 100 ms slot of the ring. Latency and TTFB are the
// histograms as flat pairs bucket, count, bucket, count… in increasing
// bucket order (the switch's fixed log buckets, see hist.go); their counts
// sum to the slot's requests (TTFB: to the answers with a body byte).
type SlotReport struct {
	I       int64    `json:"i"`
	Errors  int64    `json:"e,omitempty"`
	S5xx    int64    `json:"x,omitempty"`
	Latency []uint32 `json:"l"`
	TTFB    []uint32 `json:"t,omitempty"`
	// Signals are the slot's response-header values (Options.Headers), per
	// metric: what the leader averages with its own switch's.
	Signals []SignalReport `json:"h,omitempty"`
}

// SignalReport is one header-fed metric's sum and count in a slot.
type SignalReport struct {
	Metric string  `json:"m"`
	Sum    float64 `json:"s"`
	N      int64   `json:"n"`
}

// WireCumulative is Cumulative on the wire; Since is unix nanoseconds on
// the replica's clock and identifies the generation.
type WireCumulative struct {
	Since      int64       `json:"since"`
	Requests   int64       `json:"requests"`
	Errors     int64       `json:"errors"`
	Status5xx  int64       `json:"status_5xx"`
	Bounds     []WireBound `json:"bounds,omitempty"`
	Compared   int64       `json:"compared,omitempty"`
	Mismatched int64       `json:"mismatched,omitempty"`
}

// WireBound is one tracked bound's counts.
type WireBound struct {
	TTFB  bool    `json:"ttfb,omitempty"`
	Bound float64 `json:"bound"`
	N     int64   `json:"n"`
	Above int64   `json:"above"`
}

// Report returns, for every version of the switch, its slots from slot
// from[version] on (a version missing from from: the whole readable ring)
// through the open slot of now, and its current generation's counts. Empty
// slots are left out.
func (s *Switch) Report(now time.Time, from map[string]int64) []VersionReport {
	vs := *s.versions.Load()
	out := make([]VersionReport, 0, len(vs))
	for name, v := range vs {
		lo, ok := from[name]
		if !ok {
			lo = -1
		}
		r := v.stats.report(name, lo, now)
		if v.sig != nil {
			r.Slots = v.sig.report(s.headers, r.From, r.To, r.Slots)
		}
		out = append(out, r)
	}
	return out
}

func (s *series) report(name string, from int64, now time.Time) VersionReport {
	hi := now.UnixNano() / int64(slotDur)
	lo := max(from, hi-s.retention+1, s.created.UnixNano()/int64(slotDur))
	r := VersionReport{Version: name, From: lo, To: hi}
	n := int64(len(s.slots))
	for i := lo; i <= hi; i++ {
		sl := &s.slots[i%n]
		for attempt := 0; attempt < 3; attempt++ {
			if sl.epoch.Load() != i {
				break
			}
			sr := SlotReport{I: i, Errors: sl.errors.Load(), S5xx: sl.s5xx.Load(), Latency: sl.hist.Load().pairs()}
			if h := sl.ttfb.Load(); h != nil {
				sr.TTFB = h.pairs()
			}
			if sl.epoch.Load() == i { // not recycled while read
				if len(sr.Latency) > 0 || sr.Errors > 0 {
					r.Slots = append(r.Slots, sr)
				}
				break
			}
		}
	}
	r.Cumulative = wireCumulative(s.cur.Load().cumulative(now))
	return r
}

// pairs is the histogram as flat bucket, count pairs (nil if empty).
func (h *histogram) pairs() []uint32 {
	var out []uint32
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			out = append(out, uint32(i), c)
		}
	}
	return out
}

func wireCumulative(c Cumulative) WireCumulative {
	w := WireCumulative{Since: c.Since.UnixNano(), Requests: c.Requests, Errors: c.Errors, Status5xx: c.Status5xx,
		Compared: c.Compared, Mismatched: c.Mismatched}
	for _, b := range c.Bounds {
		w.Bounds = append(w.Bounds, WireBound(b))
	}
	return w
}

// Validate checks a report as received: it names the offending field
// (relative to the report) so a leader can answer 400 with it.
func (r *VersionReport) Validate() error {
	if r.Version == "" {
		return fmt.Errorf("version: empty")
	}
	if r.From > r.To {
		return fmt.Errorf("from: %d after to %d", r.From, r.To)
	}
	if uint64(r.To)-uint64(r.From) > uint64(maxReportSlots) { // exact for From <= To, however far apart
		return fmt.Errorf("from: %d to %d spans more than %d slots", r.From, r.To, maxReportSlots)
	}
	prev := r.From - 1
	for i, sl := range r.Slots {
		switch {
		case sl.I <= prev || sl.I > r.To:
			return fmt.Errorf("slots[%d].i: %d not after the previous slot and within from..to", i, sl.I)
		case sl.Errors < 0 || sl.S5xx < 0 || sl.S5xx > sl.Errors:
			return fmt.Errorf("slots[%d].e: negative, or fewer errors than 5xx", i)
		}
		if err := validPairs(sl.Latency); err != nil {
			return fmt.Errorf("slots[%d].l: %w", i, err)
		}
		if err := validPairs(sl.TTFB); err != nil {
			return fmt.Errorf("slots[%d].t: %w", i, err)
		}
		if len(sl.Signals) > maxSignals {
			return fmt.Errorf("slots[%d].h: %d metrics, at most %d", i, len(sl.Signals), maxSignals)
		}
		for j, sg := range sl.Signals {
			if sg.Metric == "" || sg.N <= 0 || math.IsNaN(sg.Sum) || math.IsInf(sg.Sum, 0) {
				return fmt.Errorf("slots[%d].h[%d]: want a metric, n > 0 and a finite sum", i, j)
			}
		}
		prev = sl.I
	}
	c := r.Cumulative
	if c.Requests < 0 || c.Errors < 0 || c.Status5xx < 0 || c.Compared < 0 || c.Mismatched < 0 {
		return fmt.Errorf("cumulative: negative count")
	}
	if len(c.Bounds) > maxBounds {
		return fmt.Errorf("cumulative.bounds: %d, at most %d", len(c.Bounds), maxBounds)
	}
	for i, b := range c.Bounds {
		if b.N < 0 || b.Above < 0 || b.Above > b.N || !(b.Bound > 0) {
			return fmt.Errorf("cumulative.bounds[%d]: want bound > 0 and 0 <= above <= n", i)
		}
	}
	return nil
}

// maxSignals bounds the header metrics of one slot.
const maxSignals = 64

// maxReportSlots is the most slots one report may span: an hour, far more
// than any retention.
const maxReportSlots = int64(time.Hour / slotDur)

func validPairs(p []uint32) error {
	if len(p)%2 != 0 {
		return fmt.Errorf("odd length %d, want bucket, count pairs", len(p))
	}
	last := -1
	for i := 0; i < len(p); i += 2 {
		b := int(p[i])
		if b <= last || b >= histBuckets {
			return fmt.Errorf("bucket %d at %d: want increasing buckets below %d", b, i, histBuckets)
		}
		if p[i+1] == 0 {
			return fmt.Errorf("count 0 at %d", i+1)
		}
		last = b
	}
	return nil
}

// TrackedBounds are the bounds last tracked for version (Track), in ms:
// what a follower's switch must count too for the leader's guard.
func (s *Switch) TrackedBounds(version string) (latency, ttfb []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := (*s.versions.Load())[version]
	if v == nil {
		return nil, nil
	}
	for _, b := range v.stats.spec {
		if b.kind == boundTTFB {
			ttfb = append(ttfb, b.key)
		} else {
			latency = append(latency, b.key)
		}
	}
	return latency, ttfb
}

// ReportEvidence is poked like Evidence, on a channel of its own: a
// follower's replica reporter sends at once on it, without taking the
// pokes Evidence's reader (the controller) waits for.
func (s *Switch) ReportEvidence() <-chan struct{} { return s.reportEvidence }

// NotifyEvidence pokes Evidence (non-blocking, coalesced): the leader's
// merge calls it when another replica reported bad evidence, so the
// controller judges at once as it does for its own switch's.
func (s *Switch) NotifyEvidence() {
	select {
	case s.evidence <- struct{}{}:
	default:
	}
}
