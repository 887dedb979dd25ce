package otlp

import (
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

var (
	ok200  = map[string]any{"http.response.status_code": 200, "http.route": "/pay"}
	err500 = map[string]any{"http.response.status_code": 503, "http.route": "/pay"}
	err4xx = map[string]any{"http.response.status_code": 404, "http.route": "/pay"}
	errNet = map[string]any{"error.type": "timeout", "http.route": "/pay"}
)

func defaults() map[string]ServiceConfig { return map[string]ServiceConfig{"checkout": {}} }

// A process that started after the receiver: its first cumulative point
// counts whole, later ones by their increments; 4xx are not errors.
func TestCumulativeCountsOnce(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	start := c.add(time.Second)
	at := c.add(time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).
		hist(HTTPServerDuration, cumulative, start, at, ok200, testBounds, []uint64{80, 10, 0, 0}).
		hist(HTTPServerDuration, cumulative, start, at, err500, testBounds, []uint64{5, 0, 0, 0}).
		hist(HTTPServerDuration, cumulative, start, at, err4xx, testBounds, []uint64{5, 0, 0, 0}).md)
	s := mustRead(t, r, at, signal.ErrorRate)
	if got := s.Counts[0]; got.N != 100 || got.Bad != 5 || s.Samples != 100 || s.Value != 0.05 {
		t.Fatalf("first export: %+v counts %+v, want 100 requests, 5 bad, 5%%", s, got)
	}
	if !s.CountsSince.Equal(at) {
		t.Errorf("CountsSince %v, want the first export's arrival %v: a guard watching since before it takes these counts as evidence", s.CountsSince, at)
	}
	// The next export repeats the totals plus 100 requests, 20 of them failed.
	at2 := c.add(3 * time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).
		hist(HTTPServerDuration, cumulative, start, at2, ok200, testBounds, []uint64{150, 20, 0, 0}).
		hist(HTTPServerDuration, cumulative, start, at2, err500, testBounds, []uint64{15, 0, 0, 0}).
		hist(HTTPServerDuration, cumulative, start, at2, errNet, testBounds, []uint64{0, 0, 0, 10}).
		hist(HTTPServerDuration, cumulative, start, at2, err4xx, testBounds, []uint64{5, 0, 0, 0}).md)
	s = mustRead(t, r, at2, signal.ErrorRate)
	if got := s.Counts[0]; got.N != 200 || got.Bad != 25 {
		t.Fatalf("second export: counts %+v, want N=200 Bad=25 (5 + 10 more 5xx + 10 timeouts)", got)
	}
	if !s.CountsSince.Equal(at) {
		t.Errorf("CountsSince moved to %v: counts are cumulative from the first export (%v)", s.CountsSince, at)
	}
	// Same numbers again (an exporter that re-sends its cumulative state):
	// nothing new.
	r.Consume(newExport(svcRes("checkout", "v2")).
		hist(HTTPServerDuration, cumulative, start, at2, ok200, testBounds, []uint64{150, 20, 0, 0}).md)
	if got := mustRead(t, r, at2, signal.ErrorRate).Counts[0]; got.N != 200 {
		t.Fatalf("a repeated point was counted again: %+v", got)
	}
	if d := r.Stats().Dropped[DropStale]; d != 1 {
		t.Errorf("duplicate drops = %d, want 1", d)
	}
}

// A process that was running before ripcord started: its first point is a
// base, not evidence; a series it starts later (its first 5xx) counts whole.
func TestOldProcessFirstPointIsBase(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	start := t0.Add(-time.Hour)
	at := c.add(time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).
		hist(HTTPServerDuration, cumulative, start, at, ok200, testBounds, []uint64{100000, 0, 0, 0}).md)
	_, err := read(t, r, at, signal.ErrorRate)
	wantNoData(t, err, "an hour of history is not evidence")
	at2 := c.add(2 * time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).
		hist(HTTPServerDuration, cumulative, start, at2, ok200, testBounds, []uint64{100040, 0, 0, 0}).
		hist(HTTPServerDuration, cumulative, start, at2, err500, testBounds, []uint64{10, 0, 0, 0}).md)
	s := mustRead(t, r, at2, signal.ErrorRate)
	if got := s.Counts[0]; got.N != 50 || got.Bad != 10 {
		t.Fatalf("counts %+v, want the 40 new requests and the new series' 10 errors", got)
	}
}

// Restarts: a new start time is a new series counted from zero; a value
// that drops with the same start is a reset.
func TestCounterResets(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	start := c.add(time.Second)
	at := c.add(time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, start, at, err500, testBounds, []uint64{30, 0, 0, 0}).md)
	restart := c.add(time.Second)
	at = c.add(time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, restart, at, err500, testBounds, []uint64{4, 0, 0, 0}).md)
	at = c.add(time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, restart, at, err500, testBounds, []uint64{2, 0, 0, 0}).md)
	got := mustRead(t, r, at, signal.ErrorRate).Counts[0]
	if got.N != 36 || got.Bad != 36 {
		t.Fatalf("counts %+v, want 30 + 4 (new start) + 2 (reset)", got)
	}
}

func TestDeltaTemporality(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	prev := t0.Add(-time.Hour) // delta points count whole whatever their start
	for i, b := range [][]uint64{{9, 0, 0, 1}, {8, 0, 0, 2}} {
		at := c.add(time.Second)
		e := newExport(svcRes("checkout", "v2")).
			hist(HTTPServerDuration, delta, prev, at, ok200, testBounds, b).
			hist(HTTPServerDuration, delta, prev, at, err500, testBounds, []uint64{uint64(i + 1), 0, 0, 0})
		r.Consume(e.md)
		r.Consume(e.md) // a retried export
		prev = at
	}
	s := mustRead(t, r, c.now(), signal.ErrorRate)
	if got := s.Counts[0]; got.N != 23 || got.Bad != 3 {
		t.Fatalf("counts %+v, want 10+1+10+2 requests, 3 errors, retries skipped", got)
	}
}

// Quantiles: the value is interpolated; the counts above a bound take only
// buckets entirely above it.
func TestQuantileCounts(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	start := c.add(time.Second)
	at := c.add(time.Second)
	// 100 requests: 90 ≤ 100ms, 5 in (100, 250], 4 in (250ms, 1s], 1 over 1s.
	r.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, start, at, ok200, testBounds, []uint64{90, 5, 4, 1}).md)
	s := mustRead(t, r, at, signal.LatencyP99, 250, 200, 1000, 5000)
	if s.Counts != nil {
		t.Fatalf("5000ms is above the largest bucket boundary: want no counts (window rule), got %v", s.Counts)
	}
	s = mustRead(t, r, at, signal.LatencyP99, 250, 200, 1000)
	want := map[float64]signal.Count{250: {N: 100, Bad: 5}, 200: {N: 100, Bad: 5}, 1000: {N: 100, Bad: 1}}
	for b, w := range want {
		if s.Counts[b] != w {
			t.Errorf("above %gms: %+v, want %+v (bucket (100,250] straddles 200ms and counts as fast)", b, s.Counts[b], w)
		}
	}
	// rank 99 falls in (250ms, 1s]: 95 below, 4 in it → 250 + 750·(4/4) = 1000
	if s.Value != 1000 {
		t.Errorf("p99 = %g, want 1000", s.Value)
	}
	if p50 := mustRead(t, r, at, signal.LatencyP50).Value; p50 < 50 || p50 > 60 {
		t.Errorf("p50 = %g, want about 55.6 (100 · 50/90)", p50)
	}
}

func TestGauges(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	at := c.add(time.Second)
	e := newExport(svcRes("checkout", "v2"))
	for i, u := range []float64{0.5, 0.9} {
		e.gauge(GPUUtilization, "1", at, map[string]any{"hw.id": i}, u)
		e.gauge(GPUMemoryUsage, "By", at, map[string]any{"hw.id": i}, float64(i+1)*1e9)
	}
	r.Consume(e.md)
	if s := mustRead(t, r, at, signal.GPUUtilization); s.Value != 0.7 || s.Samples != 2 || s.Counts != nil {
		t.Errorf("gpu_utilization = %+v, want the mean 0.7 over 2 GPUs, no counts", s)
	}
	if s := mustRead(t, r, at, signal.GPUMemoryBytes); s.Value != 2e9 {
		t.Errorf("gpu_memory_bytes = %g, want the fullest GPU, 2e9", s.Value)
	}
}

// Staleness: automatic (3× the longest gap, ≥ 5s) and configured.
func TestStaleness(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	start := c.add(time.Second)
	for i := 1; i <= 3; i++ {
		at := c.add(time.Second)
		r.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, start, at, ok200, testBounds, []uint64{uint64(10 * i), 0, 0, 0}).md)
	}
	last := c.now()
	if _, err := read(t, r, last.Add(5*time.Second), signal.ErrorRate); err != nil {
		t.Fatalf("5s after the last of 1s exports: %v", err)
	}
	_, err := read(t, r, last.Add(5*time.Second+time.Millisecond), signal.ErrorRate)
	wantNoData(t, err, "past the 5s floor")

	r2, c2 := newTestReceiver(t, Config{Staleness: time.Second}, defaults())
	at := c2.add(time.Second)
	r2.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, at, at, ok200, testBounds, []uint64{1, 0, 0, 0}).md)
	_, err = read(t, r2, at.Add(1001*time.Millisecond), signal.ErrorRate)
	wantNoData(t, err, "configured 1s")
}

// Unmapped services, versions, instruments and filtered points are dropped
// and counted, never stored; the series cap holds and is reported.
func TestDropsAndLimits(t *testing.T) {
	svcs := map[string]ServiceConfig{"checkout": {Metrics: map[string]Mapping{
		signal.ErrorRate: {Instrument: HTTPServerDuration, Where: map[string]string{"http.route": "/pay"}, Bad: map[string]string{"http.response.status_code": ">=500"}},
	}}}
	c := &clock{t: t0}
	r, err := New(Config{MaxSeries: 3}, svcs, WithClock(c.now), WithVersions(func(s, v string) bool { return v != "v9" }))
	if err != nil {
		t.Fatal(err)
	}
	at := c.add(time.Second)
	other := map[string]any{"http.response.status_code": 200, "http.route": "/other"}
	r.Consume(newExport(svcRes("payments", "v2")).hist(HTTPServerDuration, cumulative, at, at, ok200, testBounds, []uint64{1, 0, 0, 0}).md)
	r.Consume(newExport(svcRes("checkout", "v9")).hist(HTTPServerDuration, cumulative, at, at, ok200, testBounds, []uint64{1, 0, 0, 0}).md)
	r.Consume(newExport(map[string]any{"service.name": "checkout"}).hist(HTTPServerDuration, cumulative, at, at, ok200, testBounds, []uint64{1, 0, 0, 0}).md)
	r.Consume(newExport(svcRes("checkout", "v2")).
		hist("rpc.server.duration", cumulative, at, at, ok200, testBounds, []uint64{1, 0, 0, 0}).
		hist(HTTPServerDuration, cumulative, at, at, other, testBounds, []uint64{1, 0, 0, 0}).md)
	e := newExport(svcRes("checkout", "v2"))
	for i := range 5 {
		e.hist(HTTPServerDuration, cumulative, at, at, map[string]any{"http.route": "/pay", "user": i}, testBounds, []uint64{1, 0, 0, 0})
	}
	if rejected := r.Consume(e.md); rejected != 2 {
		t.Errorf("rejected = %d, want the 2 series over max_series 3", rejected)
	}
	st := r.Stats()
	want := map[string]uint64{DropService: 1, DropVersion: 2, DropName: 1, DropFiltered: 1, DropSeries: 2}
	for reason, n := range want {
		if st.Dropped[reason] != n {
			t.Errorf("dropped[%s] = %d, want %d (all: %v)", reason, st.Dropped[reason], n, st.Dropped)
		}
	}
	if st.Series != 3 || st.Received != 3 {
		t.Errorf("series %d, received %d: want 3 and 3", st.Series, st.Received)
	}
	if got := mustRead(t, r, at, signal.ErrorRate).Counts[0]; got.N != 3 {
		t.Errorf("counts %+v, want the 3 kept series", got)
	}
}

func TestExpected(t *testing.T) {
	svcs := map[string]ServiceConfig{
		"checkout": {},
		"search":   {ServiceName: "search-api", Metrics: map[string]Mapping{signal.LatencyP99: {Instrument: HTTPServerDuration}}},
	}
	r, c := newTestReceiver(t, Config{}, svcs)
	if r.Expected("checkout", signal.ErrorRate) || r.Expected("nope", signal.ErrorRate) || r.Expected("search", signal.ErrorRate) {
		t.Fatal("a default mapping is expected only once data arrived; unmapped never")
	}
	if !r.Expected("search", signal.LatencyP99) {
		t.Fatal("an explicit mapping is expected from the start")
	}
	_, err := read(t, r, c.now(), signal.ErrorRate)
	wantNoData(t, err, "nothing received")
	at := c.add(time.Second)
	r.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, at, at, ok200, testBounds, []uint64{1, 0, 0, 0}).md)
	if !r.Expected("checkout", signal.ErrorRate) || r.Expected("checkout", signal.GPUUtilization) {
		t.Fatal("after HTTP data: error_rate expected, gpu_utilization not")
	}
}

func TestThroughput(t *testing.T) {
	r, c := newTestReceiver(t, Config{}, defaults())
	start := c.add(time.Second)
	for i := 0; i <= 5; i++ {
		at := c.add(2 * time.Second)
		r.Consume(newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, start, at, ok200, testBounds, []uint64{uint64(100 * i), 0, 0, 0}).md)
	}
	q := signal.Query{Service: "checkout", Version: "v2", Metric: signal.Throughput, Since: c.now().Add(-4 * time.Second), At: c.now()}
	s, err := r.Read(t.Context(), q)
	if err != nil || s.Value != 50 || s.Window != 4*time.Second {
		t.Fatalf("throughput %+v %v, want 200 requests over the last 4s = 50/s", s, err)
	}
}
