package otlp

import (
	"hash/maphash"
	"math"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Limits that are not worth a config key.
const (
	// maxVersions bounds the versions kept per service; a new one beyond it
	// replaces the version idle longest, if it has been idle for idleAfter.
	maxVersions = 16
	// idleAfter is how long a series (or version) must have gone without a
	// point before it may be evicted to make room.
	idleAfter = 10 * time.Minute
)

// versionKey names one version of one ripcord service.
type versionKey struct{ service, version string }

// version is everything kept about one version.
type version struct {
	streams map[uint64]*stream
	// instances are the processes seen, by (resource hash, start time), with
	// the Consume call that first saw them; a new series of a process seen
	// in an earlier call started from zero since, so it counts whole.
	instances map[[2]uint64]uint64
	// evictedUpTo is the newest point time of any evicted series: a
	// cumulative series starting before it may be one we forgot, so its
	// first point is only a base.
	evictedUpTo uint64
	aggs        map[string]*agg
	lastRecv    time.Time
}

// stream is the last point of one raw series (one process, instrument and
// attribute set; for cumulative data also one start time).
type stream struct {
	start, time uint64
	count       float64
	buckets     []uint64
	bounds      []float64 // shared between series with the same layout
	seen        time.Time
}

// increment is what one point adds: observations and, for histograms, the
// new observations per bucket.
type increment struct {
	count   float64
	buckets []uint64 // nil for counters; valid until the next point
	bounds  []float64
	gauge   bool
	value   float64
}

// version returns the state of (svc, name), creating it within the limits.
func (r *Receiver) version(in *ingest, svc *service, name string) *version {
	k := versionKey{svc.name, name}
	if v := r.versions[k]; v != nil {
		v.lastRecv = in.now
		return v
	}
	if r.accept != nil && !r.accept(svc.name, name) {
		in.drop(DropVersion, 1)
		return nil
	}
	if svc.versions >= maxVersions && !r.evictVersion(svc, in.now) {
		in.drop(DropVersions, 1)
		return nil
	}
	v := &version{streams: map[uint64]*stream{}, instances: map[[2]uint64]uint64{}, aggs: map[string]*agg{}, lastRecv: in.now}
	r.versions[k] = v
	svc.versions++
	return v
}

func (r *Receiver) evictVersion(svc *service, now time.Time) bool {
	var oldest versionKey
	var at time.Time
	for k, v := range r.versions {
		if k.service == svc.name && (at.IsZero() || v.lastRecv.Before(at)) {
			oldest, at = k, v.lastRecv
		}
	}
	if at.IsZero() || now.Sub(at) < idleAfter {
		return false
	}
	r.series -= len(r.versions[oldest].streams)
	delete(r.versions, oldest)
	svc.versions--
	return true
}

// stream returns the series for key and whether it is new.
func (v *version) stream(in *ingest, key uint64, p point, res uint64) (*stream, bool) {
	if st := v.streams[key]; st != nil {
		st.seen = in.now
		return st, false
	}
	if len(v.streams) >= in.r.cfg.MaxSeries && !v.evictIdle(in) {
		in.drop(DropSeries, 1)
		return nil, false
	}
	st := &stream{seen: in.now}
	v.streams[key] = st
	in.r.series++
	if p.cumulative {
		ik := [2]uint64{res, p.start}
		if _, ok := v.instances[ik]; !ok && len(v.instances) < 2*in.r.cfg.MaxSeries {
			v.instances[ik] = in.seq
		}
	}
	return st, true
}

// countFirst reports whether the first point of a new cumulative series
// counts whole: it started after ripcord did, or its process was already
// exporting in an earlier request (so the series started from zero since).
// Otherwise its value may hold requests from before ripcord listened, and
// it is only the base that later points are counted from.
func (v *version) countFirst(in *ingest, p point, res uint64) bool {
	if !p.cumulative || p.gauge {
		return true
	}
	if p.start <= v.evictedUpTo {
		return false
	}
	if p.start >= uint64(in.r.started.UnixNano()) {
		return true
	}
	seq, ok := v.instances[[2]uint64{res, p.start}]
	return ok && seq < in.seq
}

// evictIdle forgets the series idle for idleAfter; it reports whether any
// room was made.
func (v *version) evictIdle(in *ingest) bool {
	n := len(v.streams)
	for k, st := range v.streams {
		if in.now.Sub(st.seen) >= idleAfter {
			v.evictedUpTo = max(v.evictedUpTo, st.time)
			delete(v.streams, k)
			for _, a := range v.aggs {
				delete(a.gauges, k)
			}
		}
	}
	in.r.series -= n - len(v.streams)
	return len(v.streams) < n
}

// advance moves the series to p and returns what p adds. The first point
// of a series that is only a base (see countFirst) adds nothing; a counter
// that went backwards (or whose buckets changed) restarted, and its whole
// value is new. It reports false for a point already seen: a retried
// delta, or a cumulative point no newer than the last. The increment's
// buckets live in scratch until the next point.
func (st *stream) advance(p point, fresh, base bool, scratch *[]uint64, intern func(pcommon.Float64Slice) []float64) (increment, bool) {
	switch {
	case p.gauge:
		if !fresh && p.time < st.time {
			return increment{}, false
		}
		st.time = p.time
		return increment{gauge: true, value: p.value}, true
	case !p.cumulative:
		if !fresh && p.start == st.start && p.time == st.time {
			return increment{}, false
		}
		st.start, st.time = p.start, p.time
		d := increment{count: p.count}
		if p.histogram {
			buf := (*scratch)[:0]
			for i := range p.buckets.Len() {
				buf = append(buf, p.buckets.At(i))
			}
			*scratch = buf
			d.bounds, d.buckets = intern(p.bounds), buf
		}
		return d, true
	}
	if !fresh && p.time <= st.time {
		return increment{}, false
	}
	same := st.sameLayout(p)
	reset := fresh || p.count < st.count || !same || bucketsDropped(st.buckets, p.buckets)
	d := increment{count: p.count}
	if !reset {
		d.count -= st.count
	}
	if p.histogram {
		n := p.buckets.Len()
		if !same {
			st.bounds, st.buckets = intern(p.bounds), make([]uint64, n)
		}
		buf := (*scratch)[:0]
		for i := range n {
			b := p.buckets.At(i)
			if reset {
				buf = append(buf, b)
			} else {
				buf = append(buf, b-st.buckets[i])
			}
			st.buckets[i] = b
		}
		*scratch = buf
		d.buckets, d.bounds = buf, st.bounds
	}
	st.start, st.time, st.count = p.start, p.time, p.count
	if fresh && base {
		return increment{bounds: d.bounds}, true
	}
	return d, true
}

func (st *stream) sameLayout(p point) bool {
	if !p.histogram {
		return true
	}
	if len(st.bounds) != p.bounds.Len() || len(st.buckets) != p.buckets.Len() {
		return false
	}
	for i, b := range st.bounds {
		if p.bounds.At(i) != b {
			return false
		}
	}
	return true
}

func bucketsDropped(old []uint64, now pcommon.UInt64Slice) bool {
	if len(old) != now.Len() {
		return true
	}
	for i, b := range old {
		if now.At(i) < b {
			return true
		}
	}
	return false
}

// countAbove is how many of d's observations lie in buckets entirely above
// limit (in the instrument's unit): a bucket (lower, upper] counts only
// when lower ≥ limit, so a bucket straddling the limit counts as fast —
// the conservative side, which can only delay an alarm.
func (d increment) countAbove(limit float64) float64 {
	// bucket i is (bounds[i-1], bounds[i]]; the first whose lower edge is
	// ≥ limit is i = k+1, k the first bound ≥ limit.
	k, _ := slices.BinarySearch(d.bounds, limit*(1-1e-12))
	var n uint64
	for i := k + 1; i < len(d.buckets); i++ {
		n += d.buckets[i]
	}
	return float64(n)
}

var seed = maphash.MakeSeed()

func hashString(s string) uint64 { return maphash.String(seed, s) }

// mix combines two hashes (not commutative).
func mix(a, b uint64) uint64 {
	h := a ^ (b + 0x9e3779b97f4a7c15 + a<<6 + a>>2)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// attrsHash hashes a set of attributes independently of their order, so
// two exports of one series that list attributes differently stay one.
func attrsHash(m pcommon.Map) uint64 {
	var sum uint64
	for k, v := range m.All() {
		sum += mix(hashString(k), valueHash(v))
	}
	return sum
}

func valueHash(v pcommon.Value) uint64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return hashString(v.Str())
	case pcommon.ValueTypeInt:
		return mix(1, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		return mix(2, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return mix(3, 1)
		}
		return mix(3, 0)
	}
	return mix(4, hashString(v.AsString()))
}
