package proxy

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"testing"
	"time"
)

// failing answers 500 on /fail, else 200.
func failing(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/fail" {
		http.Error(w, "no", 500)
		return
	}
	io.WriteString(w, "ok")
}

func hit(t *testing.T, base string, paths ...string) {
	t.Helper()
	c := &http.Client{}
	for _, p := range paths {
		get(t, c, base+p)
	}
}

// merged is the leader's view: its own Stats plus rem.
func merged(l *Switch, rem *Remote, version string, now time.Time, fresh bool) Snapshot {
	snap := l.Stats(version, now.Add(-time.Minute), now)
	rem.Merge(&snap, version, now.Add(-time.Minute), now, func(string) bool { return fresh })
	return snap
}

// Leader and follower switches on one clock: the merged counts are the
// sum of both, a repeated or late report changes nothing, a follower's
// restarted generation adds to the sum instead of replacing it, a quiet
// follower leaves the window but not the counts, and the leader's own new
// generation (a new watch) leaves every earlier follower generation out.
func TestRemoteMerge(t *testing.T) {
	be := newBackend(t, failing)
	good := newBackend(t, named("good"))
	clk := newFakeClock()
	leader := switchWithClock(t, clk, "bad", be.URL, "good", good.URL)
	follower := switchWithClock(t, clk, "bad", be.URL, "good", good.URL)
	lbase, fbase := serve(t, leader), serve(t, follower)
	rem := NewRemote(time.Minute)

	hit(t, fbase, "/a", "/fail", "/b", "/fail", "/c", "/fail")
	hit(t, lbase, "/a", "/fail")
	early := follower.Report(clk.now(), nil)
	hit(t, fbase, "/d", "/fail")
	now := clk.now()
	full := follower.Report(now, nil)
	if rem.Apply("f", full) != true {
		t.Fatal("a first report with errors is not reported as bad evidence")
	}
	check := func(when string, s Snapshot, req, errs, cumReq, cumErr int64) {
		t.Helper()
		if s.Requests != req || s.Errors != errs || s.Status5xx != errs || s.Cumulative.Requests != cumReq ||
			s.Cumulative.Errors != cumErr || s.Cumulative.Status5xx != cumErr {
			t.Fatalf("%s: window %d requests %d errors %d 5xx, cumulative %+v; want window %d/%d, cumulative %d/%d",
				when, s.Requests, s.Errors, s.Status5xx, s.Cumulative, req, errs, cumReq, cumErr)
		}
	}
	check("leader 2 + follower 8", merged(leader, rem, "bad", now, true), 10, 5, 10, 5)
	if q := merged(leader, rem, "bad", now, true).Quantile(1); q <= 0 {
		t.Fatalf("merged histogram empty (p100 %v)", q)
	}

	// The same report again, and an older one late: nothing changes.
	if rem.Apply("f", full) {
		t.Error("a repeated report is reported as new bad evidence")
	}
	rem.Apply("f", early)
	check("after a repeated and a late report", merged(leader, rem, "bad", now, true), 10, 5, 10, 5)

	// The follower activates the version again (say, it restarted): a new
	// generation, whose counts add to the old one's.
	clk.add(100 * time.Millisecond)
	follower.Activate("good")
	follower.Activate("bad")
	hit(t, fbase, "/e", "/fail")
	now = clk.now()
	rem.Apply("f", follower.Report(now, nil))
	check("follower's new generation", merged(leader, rem, "bad", now, true), 12, 6, 12, 6)

	// Quiet: out of the window, still in the counts (they must not go down).
	check("follower stale", merged(leader, rem, "bad", now, false), 2, 1, 12, 6)

	// The leader's new watch: only generations from its start count.
	clk.add(2 * time.Second)
	leader.Activate("good")
	leader.Activate("bad")
	now = clk.now()
	check("leader's new generation", merged(leader, rem, "bad", now, false), 2, 1, 0, 0)
	clk.add(20 * time.Millisecond)
	follower.Activate("good")
	follower.Activate("bad")
	hit(t, fbase, "/fail")
	now = clk.now()
	rem.Apply("f", follower.Report(now, nil))
	check("follower follows", merged(leader, rem, "bad", now, true), 13, 7, 1, 1)
}

// The bounds the leader tracks reach the merged counts only where both
// count them, summed.
func TestRemoteMergeBounds(t *testing.T) {
	be := newBackend(t, failing)
	clk := newFakeClock()
	leader := switchWithClock(t, clk, "v", be.URL)
	follower := switchWithClock(t, clk, "v", be.URL)
	bounds := map[string][]float64{"latency_p99_ms": {0.000001, 5000}}
	leader.Track("v", bounds)
	lat, ttfb := leader.TrackedBounds("v")
	if len(lat) != 2 || len(ttfb) != 0 {
		t.Fatalf("tracked bounds %v %v", lat, ttfb)
	}
	follower.Track("v", map[string][]float64{"latency_ms": lat})
	hit(t, serve(t, follower), "/a", "/b", "/c")
	hit(t, serve(t, leader), "/a")
	rem := NewRemote(time.Minute)
	now := clk.now()
	rem.Apply("f", follower.Report(now, nil))
	c := merged(leader, rem, "v", now, true).Cumulative
	// The fake clock does not move during a request: every latency is 0.
	if b, ok := c.Bound(false, 5000); !ok || b.N != 4 || b.Above != 0 {
		t.Fatalf("bound 5000: %+v %v, want 4 observations", b, ok)
	}
}

// A report survives JSON and is refused when malformed, naming the field.
func TestReportValidate(t *testing.T) {
	be := newBackend(t, failing)
	clk := newFakeClock()
	sw := switchWithClock(t, clk, "v", be.URL)
	hit(t, serve(t, sw), "/a", "/fail")
	reps := sw.Report(clk.now(), nil)
	js, err := json.Marshal(reps)
	if err != nil {
		t.Fatal(err)
	}
	var back []VersionReport
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || back[0].Validate() != nil || len(back[0].Slots) != 1 || back[0].Cumulative.Requests != 2 {
		t.Fatalf("report %s", js)
	}
	for name, tc := range map[string]struct {
		mut  func(*VersionReport)
		want string
	}{
		"odd pairs":    {func(r *VersionReport) { r.Slots[0].Latency = []uint32{3} }, "slots[0].l: odd length 1, want bucket, count pairs"},
		"bucket":       {func(r *VersionReport) { r.Slots[0].Latency = []uint32{histBuckets, 1} }, "slots[0].l: bucket 2048 at 0: want increasing buckets below 2048"},
		"slot outside": {func(r *VersionReport) { r.Slots[0].I = r.To + 1 }, "slots[0].i:"},
		"range":        {func(r *VersionReport) { r.From = r.To + 1 }, "from:"},
		"no name":      {func(r *VersionReport) { r.Version = "" }, "version: empty"},
		"bound":        {func(r *VersionReport) { r.Cumulative.Bounds = []WireBound{{Bound: 1, N: 1, Above: 2}} }, "cumulative.bounds[0]:"},
		"signal n":     {func(r *VersionReport) { r.Slots[0].Signals = []SignalReport{{Metric: "q", Sum: 1}} }, "slots[0].h[0]: want a metric, n > 0"},
		"signal sum":   {func(r *VersionReport) { r.Slots[0].Signals = []SignalReport{{Metric: "q", Sum: math.Inf(1), N: 1}} }, "slots[0].h[0]:"},
		"signal name":  {func(r *VersionReport) { r.Slots[0].Signals = []SignalReport{{Sum: 1, N: 1}} }, "slots[0].h[0]:"},
	} {
		var r VersionReport
		json.Unmarshal(js[1:len(js)-1], &r)
		tc.mut(&r)
		err := r.Validate()
		if err == nil || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
			t.Errorf("%s: error %v, want %q…", name, err, tc.want)
		}
	}
}
