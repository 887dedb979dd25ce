package proxy

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header signals: a service may say how good each answer was in a response
// header (X-Quality-Score: 0.82, X-Toxicity: 0.01). The switch averages each
// configured header per version over time, like latency, so an LLM service's
// quality is judged per request without an evaluation pipeline.
//
// Unlike the request counters this path takes a lock — one per version, held
// for a few additions — because floats have no atomic add; it is only taken
// when headers are configured and a response carries one.

// headerSignal is one configured header and the metric it feeds.
type headerSignal struct {
	metric string
	name   []byte // lower-case header name
}

// sigSlot accumulates one 100 ms slot of values per configured header.
type sigSlot struct {
	idx int64
	sum []float64
	n   []int64
}

// sigSeries is a version's windowed header values.
type sigSeries struct {
	mu    sync.Mutex
	slots []sigSlot
}

func newSigSeries(retention time.Duration, metrics int) *sigSeries {
	n := int(retention/slotDur) + 2
	s := &sigSeries{slots: make([]sigSlot, n)}
	for i := range s.slots {
		s.slots[i] = sigSlot{idx: -1, sum: make([]float64, metrics), n: make([]int64, metrics)}
	}
	return s
}

func (s *sigSeries) record(end time.Time, vals []float64, have []bool) {
	idx := end.UnixNano() / int64(slotDur)
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := &s.slots[idx%int64(len(s.slots))]
	if sl.idx != idx {
		sl.idx = idx
		clear(sl.sum)
		clear(sl.n)
	}
	for i, ok := range have {
		if ok {
			sl.sum[i] += vals[i]
			sl.n[i]++
		}
	}
}

// mean averages metric i over slots in [since, now].
func (s *sigSeries) mean(i int, since, now time.Time) (float64, int64) {
	lo, hi := since.UnixNano()/int64(slotDur), now.UnixNano()/int64(slotDur)
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum float64
	var n int64
	for _, sl := range s.slots {
		if sl.idx >= lo && sl.idx <= hi {
			sum += sl.sum[i]
			n += sl.n[i]
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// report adds the header values of slots from..to to slots (a report's,
// ordered by index), adding a slot the counters left out, so a follower's
// values reach the leader with the slot they belong to.
func (s *sigSeries) report(headers []headerSignal, from, to int64, slots []SlotReport) []SlotReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.slots {
		if sl.idx < from || sl.idx > to {
			continue
		}
		var sigs []SignalReport
		for i, h := range headers {
			if sl.n[i] > 0 {
				sigs = append(sigs, SignalReport{Metric: h.metric, Sum: sl.sum[i], N: sl.n[i]})
			}
		}
		if sigs == nil {
			continue
		}
		k, found := slices.BinarySearchFunc(slots, sl.idx, func(r SlotReport, i int64) int { return cmp.Compare(r.I, i) })
		if !found {
			slots = slices.Insert(slots, k, SlotReport{I: sl.idx})
		}
		slots[k].Signals = sigs
	}
	return slots
}

// compileHeaders turns metric → header name into the scan list.
func compileHeaders(m map[string]string) []headerSignal {
	out := make([]headerSignal, 0, len(m))
	for metric, h := range m {
		out = append(out, headerSignal{metric: metric, name: []byte(strings.ToLower(h))})
	}
	return out
}

// scanSignals reads the configured headers from raw response header lines.
// It returns nil when none is present, which is the common case.
func (s *Switch) scanSignals(lines []byte) ([]float64, []bool) {
	if len(s.headers) == 0 {
		return nil, nil
	}
	var vals []float64
	var have []bool
	for len(lines) > 0 {
		var line []byte
		line, lines = nextLine(lines)
		name, value, ok := splitHeader(line)
		if !ok {
			continue
		}
		for i, h := range s.headers {
			if len(name) != len(h.name) || !bytes.EqualFold(name, h.name) {
				continue
			}
			if f, err := strconv.ParseFloat(string(value), 64); err == nil {
				if vals == nil {
					vals, have = make([]float64, len(s.headers)), make([]bool, len(s.headers))
				}
				vals[i], have[i] = f, true
			}
		}
	}
	return vals, have
}

// signalsOf reads the configured headers from a parsed header map (the
// net/http path).
func (s *Switch) signalsOf(get func(string) string) ([]float64, []bool) {
	var vals []float64
	var have []bool
	for i, h := range s.headers {
		if f, err := strconv.ParseFloat(get(string(h.name)), 64); err == nil {
			if vals == nil {
				vals, have = make([]float64, len(s.headers)), make([]bool, len(s.headers))
			}
			vals[i], have[i] = f, true
		}
	}
	return vals, have
}

// HeaderMetrics lists the metrics fed by response headers.
func (s *Switch) HeaderMetrics() []string {
	out := make([]string, len(s.headers))
	for i, h := range s.headers {
		out[i] = h.metric
	}
	return out
}

// HeaderSignal returns the mean of a header-fed metric for version over
// [since, now], how many responses carried it, and how many requests the
// version completed in that span.
func (s *Switch) HeaderSignal(version, metric string, since, now time.Time) (mean float64, n, requests int64) {
	v := (*s.versions.Load())[version]
	if v == nil {
		return 0, 0, 0
	}
	requests = v.stats.snapshot(since, now).Requests
	for i, h := range s.headers {
		if h.metric == metric && v.sig != nil {
			mean, n = v.sig.mean(i, since, now)
		}
	}
	return mean, n, requests
}
