package otlp

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Reasons a data point is not stored (the dropped counter's label).
const (
	DropService  = "service"      // no service maps the resource's service.name
	DropVersion  = "version"      // no version attribute, or a version not watched
	DropName     = "instrument"   // no mapping names the instrument
	DropFiltered = "filtered"     // no mapping's where matched the point
	DropType     = "type"         // a data type the mapping cannot use (summary, exponential histogram, ...)
	DropUnit     = "unit"         // a latency instrument in an unknown unit and no scale
	DropSeries   = "series_limit" // the version already has max_series series
	DropVersions = "version_limit"
	DropStale    = "duplicate" // a point already seen (a retried export) or older than the last
)

// ingest holds the state of one Consume call.
type ingest struct {
	r       *Receiver
	now     time.Time
	seq     uint64
	touched []*agg
	scratch []uint64
	// rejected counts points refused for limits, which the exporter is told
	// about (partial success); points merely unmapped are dropped silently.
	rejected int64
}

// consume folds md into the state. The caller holds r.mu.
func (in *ingest) consume(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		name, _ := res.Get("service.name")
		svc := in.r.byName[name.Str()]
		if svc == nil {
			in.drop(DropService, countPoints(rm))
			continue
		}
		resVersion, hasResVersion := res.Get(svc.versionAttr)
		rh := attrsHash(res)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			scope := hashString(sm.Scope().Name())
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				maps := svc.byInstrument[m.Name()]
				if len(maps) == 0 {
					in.drop(DropName, metricPoints(m))
					continue
				}
				src := source{svc: svc, res: rh, id: mix(rh, mix(scope, hashString(m.Name()))), unit: m.Unit(), maps: maps}
				if hasResVersion {
					src.version = resVersion.AsString()
				}
				in.metric(src, m)
			}
		}
	}
	for _, a := range in.touched {
		a.touch(in.now)
	}
}

// source is where a metric's points come from.
type source struct {
	svc     *service
	version string // from the resource; "" to read it from each point
	res, id uint64 // hash of the resource; of resource, scope and instrument
	unit    string
	maps    []*mapping
}

func (in *ingest) metric(src source, m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		cumulative := h.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		dps := h.DataPoints()
		for i := 0; i < dps.Len(); i++ {
			p := dps.At(i)
			if p.Flags().NoRecordedValue() {
				continue
			}
			in.point(src, p.Attributes(), pointOf(p, cumulative))
		}
	case pmetric.MetricTypeSum, pmetric.MetricTypeGauge:
		var dps pmetric.NumberDataPointSlice
		cumulative, gauge := false, m.Type() == pmetric.MetricTypeGauge
		if gauge {
			dps = m.Gauge().DataPoints()
		} else {
			s := m.Sum()
			dps = s.DataPoints()
			cumulative = s.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
			gauge = !s.IsMonotonic() // an up-down counter is a level, not a count
		}
		for i := 0; i < dps.Len(); i++ {
			p := dps.At(i)
			if p.Flags().NoRecordedValue() {
				continue
			}
			in.point(src, p.Attributes(), numberPoint(p, cumulative, gauge))
		}
	default:
		in.drop(DropType, metricPoints(m))
	}
}

// point is one data point reduced to what the aggregates use.
type point struct {
	start, time uint64
	cumulative  bool
	gauge       bool
	count       float64 // observations (histogram) or counter value
	value       float64 // gauge reading
	buckets     pcommon.UInt64Slice
	bounds      pcommon.Float64Slice
	histogram   bool
}

func pointOf(p pmetric.HistogramDataPoint, cumulative bool) point {
	return point{start: uint64(p.StartTimestamp()), time: uint64(p.Timestamp()), cumulative: cumulative,
		count: float64(p.Count()), buckets: p.BucketCounts(), bounds: p.ExplicitBounds(), histogram: true}
}

func numberPoint(p pmetric.NumberDataPoint, cumulative, gauge bool) point {
	v := p.DoubleValue()
	if p.ValueType() == pmetric.NumberDataPointValueTypeInt {
		v = float64(p.IntValue())
	}
	if gauge {
		return point{time: uint64(p.Timestamp()), gauge: true, value: v}
	}
	return point{start: uint64(p.StartTimestamp()), time: uint64(p.Timestamp()), cumulative: cumulative, count: v}
}

// point routes one data point to the mappings whose where matches it.
func (in *ingest) point(src source, attrs pcommon.Map, p point) {
	version := src.version
	if version == "" {
		v, ok := attrs.Get(src.svc.versionAttr)
		if !ok {
			in.drop(DropVersion, 1)
			return
		}
		version = v.AsString()
	}
	var matched [8]*mapping
	used := matched[:0]
	for _, mp := range src.maps {
		if mp.where.all(attrs) {
			used = append(used, mp)
		}
	}
	if len(used) == 0 {
		in.drop(DropFiltered, 1)
		return
	}
	v := in.r.version(in, src.svc, version)
	if v == nil {
		return
	}
	key := mix(src.id, attrsHash(attrs))
	if p.cumulative {
		key = mix(key, p.start) // a restarted process is a new series
	}
	st, fresh := v.stream(in, key, p, src.res)
	if st == nil {
		return
	}
	d, ok := st.advance(p, fresh, fresh && !v.countFirst(in, p, src.res), &in.scratch, in.r.layout)
	if !ok {
		in.drop(DropStale, 1)
		return
	}
	in.r.received++
	for _, mp := range used {
		if reason := v.agg(in, mp).add(mp, src.unit, key, d, mp.bad.any(attrs), in.now); reason != "" {
			in.drop(reason, 1)
		} else {
			mp.seen = true
		}
	}
}

func (in *ingest) drop(reason string, n int) {
	if n > 0 {
		in.r.dropped[reason] += uint64(n)
		if reason == DropSeries || reason == DropVersions {
			in.rejected += int64(n)
		}
	}
}

func countPoints(rm pmetric.ResourceMetrics) int {
	n := 0
	sms := rm.ScopeMetrics()
	for j := 0; j < sms.Len(); j++ {
		ms := sms.At(j).Metrics()
		for k := 0; k < ms.Len(); k++ {
			n += metricPoints(ms.At(k))
		}
	}
	return n
}

func metricPoints(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}
