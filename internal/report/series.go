package report

import (
	"slices"
	"sort"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

// merger folds points (or seconds) into one Second: requests and errors
// summed, p50 weighted by requests, p99 the highest. The highest p99 is an
// upper bound on the combined p99, which is the safe side in a review.
type merger struct {
	s      Second
	p50Sum float64
	latReq int64
}

func (m *merger) add(at time.Time, req, errs int64, p50, p99 float64, hasLat bool, versions ...string) {
	if at.After(m.s.At) {
		m.s.At = at
	}
	req = max(req, 0)
	m.s.Requests += req
	m.s.Errors += min(max(errs, 0), req)
	for _, v := range versions {
		if !slices.Contains(m.s.Versions, v) {
			m.s.Versions = append(m.s.Versions, v)
		}
	}
	if !hasLat || req == 0 || !finite(p50) || !finite(p99) {
		return
	}
	m.p50Sum += p50 * float64(req)
	m.latReq += req
	if !m.s.HasLatency || p99 > m.s.P99 {
		m.s.P99 = p99
	}
	m.s.HasLatency = true
}

func (m *merger) second() Second {
	if m.latReq > 0 {
		m.s.P50 = m.p50Sum / float64(m.latReq)
	}
	slices.Sort(m.s.Versions)
	return m.s
}

// perSecond sums the versions' points of each instant, oldest first.
func perSecond(pts []store.MetricPoint) []Second {
	byAt := map[int64]*merger{}
	for _, p := range pts {
		k := p.At.UnixNano()
		m := byAt[k]
		if m == nil {
			m = &merger{}
			m.s.At = p.At
			byAt[k] = m
		}
		m.add(p.At, p.Requests, p.Errors, p.P50Ms, p.P99Ms, true, p.Version)
	}
	keys := make([]int64, 0, len(byAt))
	for k := range byAt {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Second, 0, len(keys))
	for _, k := range keys {
		out = append(out, byAt[k].second())
	}
	return out
}

// phases splits the seconds around the impact window. A second belongs to
// "during" when it overlaps the window, so a window shorter than a second
// still has its traffic.
func phases(secs []Second, im Impact) []Phase {
	ph := []Phase{
		{Name: "before", From: im.Start.Add(-beforeSpan), To: im.Start},
		{Name: "during", From: im.Start, To: im.End},
		{Name: "after", From: im.End, To: im.End},
	}
	var lat [3]latencies
	for _, s := range secs {
		i := 2
		switch {
		case !s.At.After(im.Start):
			if !s.At.After(ph[0].From) {
				continue
			}
			i = 0
		case s.At.Add(-interval).Before(im.End):
			i = 1
		}
		p := &ph[i]
		p.Seconds++
		p.Requests += s.Requests
		p.Errors += s.Errors
		if i == 2 && s.At.After(p.To) {
			p.To = s.At
		}
		if s.HasLatency && s.Requests > 0 {
			lat[i].add(s)
		}
	}
	for i := range ph {
		ph[i].ErrorRate = ratio(ph[i].Errors, ph[i].Requests)
		lat[i].into(&ph[i])
	}
	return ph
}

// latencies collects per-second quantiles with their request weights.
type latencies struct {
	p50, p99 []float64
	w        []int64
}

func (l *latencies) add(s Second) {
	l.p50 = append(l.p50, s.P50)
	l.p99 = append(l.p99, s.P99)
	l.w = append(l.w, s.Requests)
}

func (l *latencies) into(p *Phase) {
	if len(l.w) == 0 {
		return
	}
	p.HasLatency = true
	p.P50 = weightedMedian(l.p50, l.w)
	p.P99 = weightedMedian(l.p99, l.w)
	p.WorstP99 = slices.Max(l.p99)
}

// weightedMedian returns the value at which half the weight lies below.
func weightedMedian(vals []float64, w []int64) float64 {
	idx := make([]int, len(vals))
	var total int64
	for i := range idx {
		idx[i] = i
		total += w[i]
	}
	sort.SliceStable(idx, func(a, b int) bool { return vals[idx[a]] < vals[idx[b]] })
	var run int64
	for _, i := range idx {
		run += w[i]
		if 2*run >= total {
			return vals[i]
		}
	}
	return 0
}

// buckets merges consecutive seconds so a chart has at most n points; each
// bucket spans the same whole number of seconds (width) from the first point.
func buckets(secs []Second, n int) (_ []Second, width time.Duration) {
	if len(secs) == 0 || n <= 0 {
		return nil, interval
	}
	span := secs[len(secs)-1].At.Sub(secs[0].At)
	width = max(interval, (span/time.Duration(n) + interval - 1).Truncate(interval))
	if width == interval && len(secs) <= n {
		return secs, width
	}
	var out []Second
	var m *merger
	var cur time.Duration = -1
	for _, s := range secs {
		if b := s.At.Sub(secs[0].At) / width; b != cur {
			if m != nil {
				out = append(out, m.second())
			}
			m, cur = &merger{}, b
		}
		m.add(s.At, s.Requests, s.Errors, s.P50, s.P99, s.HasLatency, s.Versions...)
	}
	return append(out, m.second()), width
}
