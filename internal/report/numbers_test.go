package report

import (
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

func TestImpactNumbers(t *testing.T) {
	r := Build(fixture(t))
	im := r.Impact
	if !im.Start.Equal(deployAt) || !im.End.Equal(at(360*time.Millisecond)) || im.EndedBy != "rollback done" || im.Ongoing {
		t.Fatalf("window = %s → %s by %q (ongoing %v), want T → T+0.36s by rollback done", im.Start, im.End, im.EndedBy, im.Ongoing)
	}
	if im.Duration != 360*time.Millisecond {
		t.Errorf("duration = %s, want 360ms", im.Duration)
	}
	if len(im.BadVersions) != 1 || im.BadVersions[0] != "v2" {
		t.Errorf("bad versions = %v, want [v2]", im.BadVersions)
	}
	// Only v2 counts: the v1 traffic of the same second is not impact.
	if im.Requests != 105 || im.Failed != 53 {
		t.Errorf("bad requests/failed = %d/%d, want 105/53", im.Requests, im.Failed)
	}
	if im.LateRequests != 2 || im.LateFailed != 1 {
		t.Errorf("late = %d/%d, want 2/1", im.LateRequests, im.LateFailed)
	}
	if want := 53.0 / 105; im.ErrorShare != want {
		t.Errorf("error share = %v, want %v", im.ErrorShare, want)
	}
	if !im.HasBaseline || im.ExcessFailed != 53 {
		t.Errorf("excess = %d (baseline %v), want 53: 0.1%% of 105 rounds to 0", im.ExcessFailed, im.HasBaseline)
	}
	if !im.UserFacingKnown || im.UserFacing != 360*time.Millisecond {
		t.Errorf("user-facing = %s (known %v), want 360ms", im.UserFacing, im.UserFacingKnown)
	}
	mo := r.Moments
	if mo.SwitchTook != 8200*time.Microsecond || !mo.Verified.Equal(at(10400*time.Millisecond)) || !mo.FirstNotified.Equal(at(812*time.Millisecond)) {
		t.Errorf("moments = %+v", mo)
	}
}

func TestPhaseTable(t *testing.T) {
	r := Build(fixture(t))
	want := []struct {
		name             string
		seconds          int
		requests, errors int64
	}{
		// 300 v1 seconds of 296..304 requests (i%9) and an error every third.
		{"before", 300, 89_991, 100},
		// One second: 189 v1 + 105 v2 requests, 0 + 53 errors.
		{"during", 1, 294, 53},
		// 310 v1 seconds plus the late v2 second merged into the first.
		{"after", 310, 92_999, 104},
	}
	for i, w := range want {
		p := r.Phases[i]
		if p.Name != w.name || p.Seconds != w.seconds || p.Requests != w.requests || p.Errors != w.errors {
			t.Errorf("phase %d = %s %d s %d req %d err, want %+v", i, p.Name, p.Seconds, p.Requests, p.Errors, w)
		}
	}
	during := r.Phases[1]
	if during.ErrorRate != 53.0/294 {
		t.Errorf("during error rate = %v, want 53/294", during.ErrorRate)
	}
	// p99 of the shared second is the worse version's; p50 is weighted.
	if during.P99 != 1450 || during.WorstP99 != 1450 {
		t.Errorf("during p99 = %v worst %v, want 1450", during.P99, during.WorstP99)
	}
	if want := (189*41 + 105*95) / 294.0; !close(during.P50, want) {
		t.Errorf("during p50 = %v, want %v", during.P50, want)
	}
	if after := r.Phases[2]; after.WorstP99 != 1410 || after.P99 > 200 {
		t.Errorf("after p99 = %v worst %v: want a typical ~180 and the late v2 second's 1410", after.P99, after.WorstP99)
	}
}

func close(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestPerSecondAcrossVersions(t *testing.T) {
	s := at(time.Second)
	secs := perSecond([]store.MetricPoint{
		{Version: "v2", At: s, Requests: 100, Errors: 50, P50Ms: 90, P99Ms: 900},
		{Version: "v1", At: s, Requests: 300, Errors: 3, P50Ms: 40, P99Ms: 200},
		{Version: "v1", At: s.Add(time.Second), Requests: 0, Errors: 0, P50Ms: 0, P99Ms: 0},
	})
	if len(secs) != 2 {
		t.Fatalf("got %d seconds, want 2", len(secs))
	}
	got := secs[0]
	if got.Requests != 400 || got.Errors != 53 || got.P99 != 900 || !close(got.P50, (100*90+300*40)/400.0) {
		t.Errorf("merged second = %+v", got)
	}
	if len(got.Versions) != 2 || got.Versions[0] != "v1" {
		t.Errorf("versions = %v, want sorted [v1 v2]", got.Versions)
	}
	if secs[1].HasLatency {
		t.Error("a second without requests has no latency")
	}
}

func TestWeightedMedian(t *testing.T) {
	for _, c := range []struct {
		vals []float64
		w    []int64
		want float64
	}{
		{[]float64{10, 20, 30}, []int64{1, 1, 1}, 20},
		{[]float64{30, 10, 1000}, []int64{10, 11, 1}, 10},
		{[]float64{30, 10, 1000}, []int64{10, 10, 1}, 30},
		{[]float64{100, 1000}, []int64{1, 99}, 1000},
		{[]float64{5}, []int64{0}, 5},
	} {
		if got := weightedMedian(c.vals, c.w); got != c.want {
			t.Errorf("weightedMedian(%v, %v) = %v, want %v", c.vals, c.w, got, c.want)
		}
	}
}

func TestBucketsKeepTotalsAndWorstP99(t *testing.T) {
	secs := perSecond(fixtureMetrics())
	b, _ := buckets(secs, 60)
	if len(b) > 60 {
		t.Fatalf("%d buckets, want ≤ 60", len(b))
	}
	var req, sumReq int64
	worst := 0.0
	for _, s := range b {
		req += s.Requests
		worst = max(worst, s.P99)
	}
	for _, s := range secs {
		sumReq += s.Requests
	}
	if req != sumReq || worst != 1450 {
		t.Errorf("buckets hold %d requests (want %d), worst p99 %v (want 1450)", req, sumReq, worst)
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{dur(8200 * time.Microsecond), "8 ms"},
		{dur(420 * time.Millisecond), "0.42 s"},
		{dur(10400 * time.Millisecond), "10.4 s"},
		{dur(12 * time.Second), "12 s"},
		{dur(3*time.Minute + 12*time.Second + 300*time.Millisecond), "3 m 12 s"},
		{dur(5 * time.Minute), "5 m"},
		{dur(2*time.Hour + 5*time.Minute), "2 h 05 m"},
		{dur(52 * time.Hour), "2 d 4 h"},
		{count(1234567), "1,234,567"},
		{count(-1234), "-1,234"},
		{pct(0.50476), "50.5%"},
		{ms(1450.4), "1,450 ms"},
		{ms(3.25), "3.2 ms"},
		{stamp(at(350 * time.Millisecond)), "2026-03-14 09:26:53.470Z"},
		{metricValue("baseline.error_rate", 0.0011), "0.1%"},
		{metricValue("samples", 3012), "3,012"},
		{bounds("error_rate", Threshold{Max: ptr(0.05), Critical: ptr(0.2)}), "max 5.0%, critical 20.0%"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
