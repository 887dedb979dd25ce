package otlp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/ripcord/ripcord/internal/signal"
)

// clock is a settable clock for the receiver.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newTestReceiver(t *testing.T, cfg Config, services map[string]ServiceConfig) (*Receiver, *clock) {
	t.Helper()
	c := &clock{t: t0}
	r, err := New(cfg, services, WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

// export builds one request: resource attributes, then one metric.
type export struct {
	md  pmetric.Metrics
	res pmetric.ResourceMetrics
	sm  pmetric.ScopeMetrics
}

func newExport(resAttrs map[string]any) *export {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(resAttrs)
	return &export{md: md, res: rm, sm: rm.ScopeMetrics().AppendEmpty()}
}

func svcRes(service, version string) map[string]any {
	return map[string]any{"service.name": service, "service.version": version}
}

// hist adds one histogram point (seconds, explicit buckets).
func (e *export) hist(name string, temporality pmetric.AggregationTemporality, start, at time.Time, attrs map[string]any, bounds []float64, buckets []uint64) *export {
	m := e.metric(name, "s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(temporality)
	p := h.DataPoints().AppendEmpty()
	_ = p.Attributes().FromRaw(attrs)
	p.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	p.SetTimestamp(pcommon.NewTimestampFromTime(at))
	p.ExplicitBounds().FromRaw(bounds)
	p.BucketCounts().FromRaw(buckets)
	var n uint64
	for _, b := range buckets {
		n += b
	}
	p.SetCount(n)
	return e
}

func (e *export) gauge(name, unit string, at time.Time, attrs map[string]any, v float64) *export {
	m := e.metric(name, unit)
	p := m.SetEmptyGauge().DataPoints().AppendEmpty()
	_ = p.Attributes().FromRaw(attrs)
	p.SetTimestamp(pcommon.NewTimestampFromTime(at))
	p.SetDoubleValue(v)
	return e
}

func (e *export) counter(name string, temporality pmetric.AggregationTemporality, start, at time.Time, attrs map[string]any, v int64) *export {
	m := e.metric(name, "1")
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(temporality)
	p := s.DataPoints().AppendEmpty()
	_ = p.Attributes().FromRaw(attrs)
	p.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	p.SetTimestamp(pcommon.NewTimestampFromTime(at))
	p.SetIntValue(v)
	return e
}

func (e *export) metric(name, unit string) pmetric.Metric {
	m := e.sm.Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	return m
}

const cumulative = pmetric.AggregationTemporalityCumulative
const delta = pmetric.AggregationTemporalityDelta

// bounds of the test histograms, in seconds: 100ms, 250ms, 1s.
var testBounds = []float64{0.1, 0.25, 1}

func read(t *testing.T, r *Receiver, at time.Time, metric string, bounds ...float64) (signal.Sample, error) {
	t.Helper()
	return r.Read(context.Background(), signal.Query{Service: "checkout", Version: "v2", Metric: metric,
		Since: at.Add(-time.Minute), At: at, Bounds: bounds})
}

func mustRead(t *testing.T, r *Receiver, at time.Time, metric string, bounds ...float64) signal.Sample {
	t.Helper()
	s, err := read(t, r, at, metric, bounds...)
	if err != nil {
		t.Fatalf("%s: %v", metric, err)
	}
	return s
}

func wantNoData(t *testing.T, err error, why string) {
	t.Helper()
	if !errors.Is(err, signal.ErrNoData) {
		t.Fatalf("%s: want ErrNoData, got %v", why, err)
	}
}
