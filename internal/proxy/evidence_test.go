package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is the switch's clock in tests that need ages without waiting:
// it starts at the real time (upstream deadlines are set from it) and moves
// only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func cumulative(sw *Switch, v string, now time.Time) Cumulative {
	return sw.Stats(v, now.Add(-time.Minute), now).Cumulative
}

// switchWithClock is newTestSwitch on a fake clock.
func switchWithClock(t *testing.T, clk *fakeClock, versions ...string) *Switch {
	t.Helper()
	sw := New(Options{Service: "t"})
	sw.now = clk.now
	for i := 0; i+1 < len(versions); i += 2 {
		if err := sw.SetVersion(versions[i], versions[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sw.Activate(versions[0]); err != nil {
		t.Fatal(err)
	}
	return sw
}

// The sequential tests need counts that only grow within a watch and hold
// nothing from before it: requests, errors (5xx and connection failures)
// and 5xx, restarted when the version is activated.
func TestCumulativeCountsRestartOnActivate(t *testing.T) {
	forEachProto(t, func(t *testing.T, c *http.Client) {
		v1 := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/fail" {
				http.Error(w, "no", 500)
				return
			}
			io.WriteString(w, "ok")
		})
		v2 := refusedURL(t)
		clk := newFakeClock()
		sw := switchWithClock(t, clk, "v1", v1.URL, "v2", v2)
		base := serve(t, sw)
		firstSince := cumulative(sw, "v1", clk.now()).Since
		for _, p := range []string{"/a", "/fail", "/b", "/fail", "/c"} {
			get(t, c, base+p)
		}
		got := cumulative(sw, "v1", clk.now())
		if got.Requests != 5 || got.Errors != 2 || got.Status5xx != 2 {
			t.Fatalf("v1 counts %+v, want 5 requests, 2 errors, 2 5xx", got)
		}
		clk.add(time.Second)
		sw.Activate("v2")
		if code, _ := get(t, c, base+"/x"); code != 502 {
			t.Fatalf("refused version answered %d", code)
		}
		if got := cumulative(sw, "v2", clk.now()); got.Requests != 1 || got.Errors != 1 || got.Status5xx != 0 {
			t.Fatalf("v2 counts %+v, want 1 request, 1 error (a connection failure), no 5xx", got)
		}
		clk.add(time.Second)
		sw.Activate("v1")
		got = cumulative(sw, "v1", clk.now())
		if got.Requests != 0 || got.Errors != 0 || !got.Since.After(firstSince) {
			t.Fatalf("after a new activation v1 counts %+v (first since %v): want zero, since the activation", got, firstSince)
		}
		get(t, c, base+"/fail")
		if got := cumulative(sw, "v1", clk.now()); got.Requests != 1 || got.Status5xx != 1 {
			t.Fatalf("v1 counts %+v after one 5xx", got)
		}
	})
}

// gated answers once per release, after telling arrived that a request
// came; body writes the answer.
func gated(arrived chan<- struct{}, release <-chan struct{}, body func(w http.ResponseWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		body(w)
	}
}

// A request waiting for its answer is one observation above every tracked
// bound it is older than, from that moment, and only once: not again on
// the next read, nor when it completes.
func TestInFlightSlowRequestCountedOnce(t *testing.T) {
	forEachProto(t, func(t *testing.T, c *http.Client) {
		arrived, release := make(chan struct{}, 4), make(chan struct{}, 4)
		v1 := newBackend(t, gated(arrived, release, func(w http.ResponseWriter) { io.WriteString(w, "ok") }))
		clk := newFakeClock()
		sw := switchWithClock(t, clk, "v1", v1.URL)
		sw.Track("v1", map[string][]float64{"latency_p99_ms": {1000, 10000}, "error_rate": {0.5}})
		base := serve(t, sw)
		done := make(chan int, 1)
		go func() {
			resp, err := c.Get(base + "/slow")
			if err != nil {
				done <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		<-arrived
		clk.add(2 * time.Second)
		bound := func(b float64) BoundCount {
			t.Helper()
			bc, ok := cumulative(sw, "v1", clk.now()).Bound(false, b)
			if !ok {
				t.Fatalf("bound %v not tracked", b)
			}
			return bc
		}
		if got := bound(1000); got.N != 1 || got.Above != 1 {
			t.Fatalf("2 s into a request still waiting, above 1 s: %+v, want 1 of 1", got)
		}
		if got := bound(1000); got.N != 1 || got.Above != 1 {
			t.Fatalf("read again: %+v, want it still counted once", got)
		}
		if got := bound(10000); got.N != 0 {
			t.Fatalf("a 2 s old request counted for the 10 s bound: %+v", got)
		}
		release <- struct{}{}
		if code := <-done; code != 200 {
			t.Fatalf("slow request answered %d", code)
		}
		if got := bound(1000); got.N != 1 || got.Above != 1 {
			t.Fatalf("after it completed, above 1 s: %+v, want it not counted again", got)
		}
		if got := bound(10000); got.N != 1 || got.Above != 0 {
			t.Fatalf("after it completed in 2 s, above 10 s: %+v, want 1 observation, not above", got)
		}
		release <- struct{}{}
		get(t, c, base+"/fast")
		<-arrived
		if got := bound(1000); got.N != 2 || got.Above != 1 {
			t.Fatalf("after a fast answer, above 1 s: %+v, want 1 of 2", got)
		}
		// A slow answer never caught waiting is counted when it completes.
		go func() {
			resp, err := c.Get(base + "/slow2")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			done <- 0
		}()
		<-arrived
		clk.add(1500 * time.Millisecond)
		release <- struct{}{}
		<-done
		if got := bound(1000); got.N != 3 || got.Above != 2 {
			t.Fatalf("after a 1.5 s answer, above 1 s: %+v, want 2 of 3", got)
		}
		if got := cumulative(sw, "v1", clk.now()); got.Requests != 3 {
			t.Fatalf("requests %d, want 3", got.Requests)
		}
	})
}

// Bounds tracked for one version are counted from the start of any
// version's next activation: the new version of a deploy is judged
// against them from its first request, before its own watch tracks them.
func TestNewVersionInheritsTrackedBounds(t *testing.T) {
	clk := newFakeClock()
	sw := switchWithClock(t, clk, "v1", "http://127.0.0.1:1", "v2", "http://127.0.0.1:2")
	sw.Track("v1", map[string][]float64{"latency_p99_ms": {3000}, "ttfb_p50_ms": {200}})
	sw.Activate("v2")
	c := cumulative(sw, "v2", clk.now())
	if _, ok := c.Bound(false, 3000); !ok {
		t.Errorf("v2 does not count latency above 3000 ms: %+v", c.Bounds)
	}
	if _, ok := c.Bound(true, 200); !ok {
		t.Errorf("v2 does not count ttfb above 200 ms: %+v", c.Bounds)
	}
}

// A stream is judged by its time to first byte and its errors, never by
// its duration; a stream that fails after its 200 — an SSE error event, an
// upstream that cuts it short — is an error when it ends.
func TestStreamsTTFBAndErrors(t *testing.T) {
	forEachProto(t, func(t *testing.T, c *http.Client) {
		arrived, release := make(chan struct{}, 4), make(chan struct{}, 4)
		v1 := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			arrived <- struct{}{}
			<-release // the first token
			switch r.URL.Path {
			case "/ok":
				io.WriteString(w, "data: tok\n\n")
				w.(http.Flusher).Flush()
				<-release
				io.WriteString(w, "data: [DONE]\n\n")
			case "/error-event":
				io.WriteString(w, "data: tok\n\n")
				w.(http.Flusher).Flush()
				io.WriteString(w, "event: error\r\ndata: {\"error\":\"overloaded\"}\r\n\r\n")
			case "/cut":
				io.WriteString(w, "data: tok\n\n")
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler) // no terminal chunk
			}
		})
		clk := newFakeClock()
		sw := switchWithClock(t, clk, "v1", v1.URL)
		sw.Track("v1", map[string][]float64{"ttfb_p99_ms": {1000}, "latency_p99_ms": {1000}})
		base := serve(t, sw)
		stream := func(path string, tokenAfter, endAfter time.Duration) (string, error) {
			resp, err := c.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			<-arrived
			clk.add(tokenAfter)
			release <- struct{}{}
			if path == "/ok" {
				buf := make([]byte, len("data: tok\n\n"))
				if _, err := io.ReadFull(resp.Body, buf); err != nil {
					t.Fatalf("first token: %v", err)
				}
				clk.add(endAfter)
				release <- struct{}{}
			}
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		}
		// A healthy stream: first token after 2 s is slow; 30 s in all is not.
		if _, err := stream("/ok", 2*time.Second, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		now := clk.now()
		snap := sw.Stats("v1", now.Add(-time.Minute), now)
		cu := snap.Cumulative
		ttfb, _ := cu.Bound(true, 1000)
		lat, _ := cu.Bound(false, 1000)
		if ttfb.N != 1 || ttfb.Above != 1 {
			t.Errorf("ttfb above 1 s: %+v, want the 2 s first token counted", ttfb)
		}
		if lat.N != 1 || lat.Above != 0 {
			t.Errorf("latency above 1 s: %+v, want a 32 s stream not slow (its head came at once)", lat)
		}
		if cu.Errors != 0 {
			t.Errorf("a complete stream counted as %d errors", cu.Errors)
		}
		if got := snap.TTFBQuantile(0.5); got < 1900*time.Millisecond || got > 2100*time.Millisecond {
			t.Errorf("windowed ttfb p50 %v, want ~2 s", got)
		}
		if snap.Quantile(0.99) > time.Second {
			t.Errorf("windowed latency p99 %v: the stream's duration counted", snap.Quantile(0.99))
		}
		body, _ := stream("/error-event", 0, 0)
		if !strings.Contains(body, "event: error") {
			t.Fatalf("error event not relayed: %q", body)
		}
		cu = cumulative(sw, "v1", clk.now())
		if cu.Requests != 2 || cu.Errors != 1 || cu.Status5xx != 0 {
			t.Fatalf("after an SSE error event: %+v, want 1 error of 2, no 5xx", cu)
		}
		if _, err := stream("/cut", 0, 0); err == nil {
			t.Fatal("a cut stream reached the client whole")
		}
		waitFor(t, "the cut stream recorded", func() bool { return cumulative(sw, "v1", clk.now()).Requests == 3 })
		if cu = cumulative(sw, "v1", clk.now()); cu.Errors != 2 {
			t.Fatalf("after a stream cut short: %+v, want 2 errors", cu)
		}
	})
}

// Bad evidence on the live version pokes Evidence at once.
func TestEvidencePokedByErrors(t *testing.T) {
	v1 := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "no", 503)
		}
	})
	sw := newTestSwitch(t, Options{}, "v1", v1.URL)
	base := serve(t, sw)
	get(t, http.DefaultClient, base+"/fine")
	select {
	case <-sw.Evidence():
		t.Fatal("a healthy answer poked Evidence") // it was poked before the select: no wait needed
	default:
	}
	get(t, http.DefaultClient, base+"/fail")
	select {
	case <-sw.Evidence():
	case <-time.After(5 * time.Second):
		t.Fatal("a 503 on the live version did not poke Evidence")
	}
}

func TestSSEScan(t *testing.T) {
	for _, tc := range []struct {
		in     string
		failed bool
	}{
		{"data: x\n\nevent: error\ndata: y\n\n", true},
		{"event:error\r\n\r\n", true},
		{"event: error\r", true},
		{"data: event: error\n", false},
		{"event: errors\n", false},
		{"event: message\ndata: error\n\n", false},
		{"event: error", false}, // not ended: not a line yet
	} {
		for split := 0; split <= len(tc.in); split++ {
			var sc sseScan
			sc.feed([]byte(tc.in[:split]))
			sc.feed([]byte(tc.in[split:]))
			if sc.failed != tc.failed {
				t.Errorf("%q split at %d: failed %v, want %v", tc.in, split, sc.failed, tc.failed)
			}
		}
	}
}

// A WebSocket upgrade is a request (it may fail like any other) but never
// a latency sample, however long its handshake or tunnel takes.
func TestUpgradeIsNoLatencySample(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{}, 1)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		echoUpgrader(w, r)
	})
	clk := newFakeClock()
	sw := switchWithClock(t, clk, "v1", b.URL)
	sw.Track("v1", map[string][]float64{"latency_p99_ms": {1000}})
	base := serve(t, sw)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: svc\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	<-arrived
	clk.add(2 * time.Second)
	if bc, _ := cumulative(sw, "v1", clk.now()).Bound(false, 1000); bc.N != 0 {
		t.Fatalf("a waiting upgrade judged in flight: %+v", bc)
	}
	release <- struct{}{}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	waitFor(t, "the upgrade recorded", func() bool { return cumulative(sw, "v1", clk.now()).Requests == 1 })
	if bc, _ := cumulative(sw, "v1", clk.now()).Bound(false, 1000); bc.N != 0 {
		t.Fatalf("an upgrade whose 101 took 2 s counted as a latency sample: %+v", bc)
	}
}
