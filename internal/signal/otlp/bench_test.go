package otlp

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// semconvBounds are the HTTP semantic conventions' recommended buckets.
var semconvBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// fleetExport is one export of a process serving `routes` routes with 5
// status codes each: routes×5 cumulative histogram points of 15 buckets,
// the shape an HTTP server's SDK sends.
func fleetExport(version string, instance, routes int, start, at time.Time) pmetric.Metrics {
	res := svcRes("checkout", version)
	res["service.instance.id"] = fmt.Sprintf("pod-%d", instance)
	e := newExport(res)
	m := e.metric(HTTPServerDuration, "s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(cumulative)
	for r := range routes {
		for _, code := range []int{200, 201, 404, 500, 503} {
			p := h.DataPoints().AppendEmpty()
			_ = p.Attributes().FromRaw(map[string]any{"http.route": fmt.Sprintf("/api/r%d", r),
				"http.request.method": "GET", "http.response.status_code": code, "url.scheme": "http"})
			p.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			p.SetTimestamp(pcommon.NewTimestampFromTime(at))
			p.ExplicitBounds().FromRaw(semconvBounds)
			p.BucketCounts().FromRaw(make([]uint64, len(semconvBounds)+1))
		}
	}
	return e.md
}

// advanceExport moves every point of md one second on and adds one
// observation to a bucket, as the next export of the process would.
func advanceExport(md pmetric.Metrics, i int) int {
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints()
	for j := 0; j < dps.Len(); j++ {
		p := dps.At(j)
		p.SetTimestamp(p.Timestamp() + pcommon.Timestamp(time.Second))
		b := p.BucketCounts()
		k := (i + j) % b.Len()
		b.SetAt(k, b.At(k)+1)
		p.SetCount(p.Count() + 1)
	}
	return dps.Len()
}

// BenchmarkIngest measures Consume alone (decoded data in, state updated)
// on one goroutine: the figure is data points per second per core.
func BenchmarkIngest(b *testing.B) {
	r, _ := New(Config{}, defaults())
	md := fleetExport("v2", 0, 40, time.Now(), time.Now())
	r.Consume(md)
	points := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		points += advanceExport(md, i)
		r.Consume(md)
	}
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
	if r.Stats().Dropped[DropStale] != 0 {
		b.Fatal("points were taken for duplicates")
	}
}

// BenchmarkHTTPIngest measures the whole HTTP path: protobuf decoding,
// bearer check and Consume, through the handler.
func BenchmarkHTTPIngest(b *testing.B) {
	r, _ := New(Config{}, defaults())
	h := r.Handler()
	md := fleetExport("v2", 0, 40, time.Now(), time.Now())
	points := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		points += advanceExport(md, i)
		body, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		req := httptest.NewRequest("POST", "/v1/metrics", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctProto)
		w := httptest.NewRecorder()
		b.StartTimer()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
}

// TestMemoryPerSeries measures the heap a mapped series costs (raw series
// state plus its share of the per-metric aggregates) by filling a receiver
// with 10 versions × 2000 series, and checks it stays small.
func TestMemoryPerSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few MB")
	}
	r, c := newTestReceiver(t, Config{}, defaults())
	exports := make([]pmetric.Metrics, 0, 40)
	for v := range 10 {
		for inst := range 4 { // 4 processes × 100 routes × 5 codes = 2000 series
			exports = append(exports, fleetExport(fmt.Sprintf("v%d", v), inst, 100, c.now(), c.now()))
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, md := range exports {
		r.Consume(md)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := r.Stats()
	if st.Series != 20000 || st.Dropped[DropSeries] != 0 {
		t.Fatalf("series %d, dropped %v", st.Series, st.Dropped)
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(st.Series)
	t.Logf("heap per mapped series: %.0f bytes (%d series)", per, st.Series)
	if per > 1024 {
		t.Errorf("a series costs %.0f bytes, want under 1 KiB", per)
	}
	runtime.KeepAlive(exports)
}

// BenchmarkDecodeOnly is the peer of BenchmarkHTTPIngest: the same
// protobuf bodies decoded by the Collector's pdata and nothing more, the
// floor any OTLP receiver pays (an OpenTelemetry Collector's otlp receiver
// does this much before its pipeline starts). The ratio of the two is
// what ripcord's mapping, counting and state cost on top.
func BenchmarkDecodeOnly(b *testing.B) {
	md := fleetExport("v2", 0, 40, time.Now(), time.Now())
	points := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		points += advanceExport(md, i)
		body, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		b.StartTimer()
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
}
