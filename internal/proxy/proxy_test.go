package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProxyBasics(t *testing.T) { forEachProto(t, testProxyBasics) }

func testProxyBasics(t *testing.T, c *http.Client) {
	var got http.Header
	var gotURL, gotHost, gotBody string
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		got, gotURL, gotHost = r.Header.Clone(), r.URL.String(), r.Host
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.Header().Set("X-Answer", "42")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true}`)
	})
	sw := newTestSwitch(t, Options{Service: "svc"}, "v1", be.URL+"/base")
	base := serve(t, sw)

	req, _ := http.NewRequest("POST", base+"/x/y?q=1&r=%2F", strings.NewReader("hello"))
	if !isH2C(c) { // HTTP/2 has no Connection header
		req.Header.Set("Connection", "X-Private")
		req.Header.Set("X-Private", "secret")
	}
	req.Header.Set("Proxy-Authorization", "Basic abc")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("X-Forwarded-For", "10.1.1.1")
	req.Header.Set("X-Keep", "yes")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	if resp.StatusCode != http.StatusCreated || string(body) != `{"ok":true}` {
		t.Fatalf("response %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Answer") != "42" || resp.Header.Get("Proxy-Authenticate") != "" {
		t.Fatalf("response header %v: want X-Answer kept, Proxy-Authenticate dropped", resp.Header)
	}
	if gotURL != "/base/x/y?q=1&r=%2F" || gotBody != "hello" {
		t.Fatalf("backend saw %s with body %q", gotURL, gotBody)
	}
	if !strings.HasPrefix(base, "http://"+gotHost) {
		t.Fatalf("backend saw Host %q, want the client's (%s)", gotHost, base)
	}
	for _, h := range []string{"X-Private", "Proxy-Authorization", "Keep-Alive"} {
		if v := got.Get(h); v != "" {
			t.Errorf("hop-by-hop %s=%q reached the backend", h, v)
		}
	}
	want := map[string]string{
		"X-Keep": "yes", "X-Forwarded-For": "10.1.1.1, 127.0.0.1",
		"X-Forwarded-Proto": "http", "Via": "1.1 ripcord", "X-Forwarded-Host": gotHost,
	}
	for h, v := range want {
		if got.Get(h) != v {
			t.Errorf("backend header %s = %q, want %q", h, got.Get(h), v)
		}
	}
	if s := stats(sw, "v1"); s.Requests != 1 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNoActiveVersion(t *testing.T) { forEachProto(t, testNoActiveVersion) }

func testNoActiveVersion(t *testing.T, c *http.Client) {
	sw := New(Options{})
	base := serve(t, sw)
	if code, _ := get(t, c, base+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", code)
	}
	if _, err := sw.Activate("nope"); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("Activate unknown: %v", err)
	}
	for _, u := range []string{"", "/relative", "https://x", "http://", "://bad"} {
		if err := sw.SetVersion("v", u); err == nil {
			t.Errorf("SetVersion(%q) accepted", u)
		}
	}
}

func TestErrorAccounting(t *testing.T) { forEachProto(t, testErrorAccounting) }

func testErrorAccounting(t *testing.T, c *http.Client) {
	release := make(chan struct{})
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(500)
		case "/503":
			w.WriteHeader(503)
		case "/404":
			w.WriteHeader(404)
		case "/hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	})
	defer close(release)
	sw := newTestSwitch(t, Options{}, "good", be.URL, "dead", refusedURL(t))
	base := serve(t, sw)

	for _, p := range []string{"/ok", "/404", "/404", "/500", "/503"} {
		get(t, c, base+p)
	}
	// The client gives up on a slow answer: not the version's fault. Once
	// Serve has returned, every request it carried is done with.
	hsw := newTestSwitch(t, Options{DrainTimeout: 50 * time.Millisecond}, "good", be.URL)
	hbase, stop := serveStoppable(t, hsw)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, "GET", hbase+"/hang", nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("hang returned")
	}
	cancel()
	stop()
	if s := stats(hsw, "good"); s.Requests != 0 {
		t.Fatalf("an abandoned request was recorded: %+v", s)
	}

	s := stats(sw, "good")
	if s.Requests != 5 || s.Errors != 2 || s.Status5xx != 2 {
		t.Fatalf("good: %+v, want 5 requests, 2 errors (5xx), 4xx and cancel not errors", s)
	}
	if s.Quantile(0.5) <= 0 {
		t.Fatal("no latency recorded")
	}

	sw.Activate("dead")
	if code, _ := get(t, c, base+"/"); code != http.StatusBadGateway {
		t.Fatalf("refused upstream: status %d, want 502", code)
	}
	d := stats(sw, "dead")
	if d.Requests != 1 || d.Errors != 1 || d.Status5xx != 0 {
		t.Fatalf("dead: %+v, want 1 connection error", d)
	}
	tot := sw.Totals()
	if tot["good"] != (Totals{Requests: 5, Errors: 2}) || tot["dead"] != (Totals{Requests: 1, Errors: 1}) {
		t.Fatalf("Totals = %v", tot)
	}
}

func TestBodyBrokenMidway(t *testing.T) { forEachProto(t, testBodyBrokenMidway) }

func testBodyBrokenMidway(t *testing.T, c *http.Client) {
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "only part")
		w.(http.Flusher).Flush()
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	})
	sw := newTestSwitch(t, Options{}, "v", be.URL)
	base := serve(t, sw)
	resp, err := c.Get(base + "/")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("truncated body read without error")
	}
	waitFor(t, "error recorded", func() bool { return stats(sw, "v").Errors == 1 })
}

// streamer writes n chunks, each after a tick on its channel (or at once if
// nil), and tags them with name.
func streamer(name string, n int, tick <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // headers first, like an LLM server
		for i := range n {
			if tick != nil {
				select {
				case <-tick:
				case <-r.Context().Done():
					return
				}
			}
			io.WriteString(w, "data: "+name+" "+string(rune('0'+i))+"\n\n")
			w.(http.Flusher).Flush()
		}
	}
}

func TestStreamingFirstChunkBeforeEnd(t *testing.T) {
	forEachProto(t, testStreamingFirstChunkBeforeEnd)
}

func testStreamingFirstChunkBeforeEnd(t *testing.T, c *http.Client) {
	tick := make(chan struct{})
	be := newBackend(t, streamer("v1", 3, tick))
	sw := newTestSwitch(t, Options{}, "v1", be.URL)
	base := serve(t, sw)

	resp, err := c.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		tick <- struct{}{} // the backend writes one chunk and then waits
		line, err := br.ReadString('\n')
		if err != nil || line != "data: v1 "+string(rune('0'+i))+"\n" {
			t.Fatalf("chunk %d: %q, %v", i, line, err)
		}
		br.ReadString('\n')
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("trailing %q", rest)
	}
	waitFor(t, "stream recorded", func() bool { return stats(sw, "v1").Requests == 1 })
}

func TestInFlightStreamSurvivesSwitch(t *testing.T) {
	forEachProto(t, testInFlightStreamSurvivesSwitch)
}

func testInFlightStreamSurvivesSwitch(t *testing.T, c *http.Client) {
	tick := make(chan struct{})
	blue := newBackend(t, streamer("blue", 4, tick))
	green := newBackend(t, named("green"))
	sw := newTestSwitch(t, Options{}, "blue", blue.URL, "green", green.URL)
	base := serve(t, sw)

	resp, err := c.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	tick <- struct{}{}
	if line, _ := br.ReadString('\n'); line != "data: blue 0\n" {
		t.Fatalf("first chunk %q", line)
	}
	if prev, err := sw.Activate("green"); prev != "blue" || err != nil {
		t.Fatalf("Activate = %q, %v", prev, err)
	}
	if _, body := get(t, c, base+"/"); body != "green" {
		t.Fatalf("after switch: %q", body)
	}
	for range 3 {
		tick <- struct{}{}
	}
	rest, err := io.ReadAll(br)
	if err != nil || strings.Count(string(rest), "data: blue") != 3 {
		t.Fatalf("rest of stream %q, %v", rest, err)
	}
	// The old version's keep-alive connection is closed once its stream ended.
	waitFor(t, "blue connections drained", func() bool { return blue.conns.Load() == 0 })
	if green.conns.Load() == 0 {
		t.Fatal("green has no kept-alive connection")
	}
}

func TestSwitchUnderLoad(t *testing.T) { forEachProto(t, testSwitchUnderLoad) }

// testSwitchUnderLoad: 20 clients, each on its own keep-alive connection,
// while the switch flips 100 times.
func testSwitchUnderLoad(t *testing.T, proto *http.Client) {
	blue := newBackend(t, named("blue"))
	green := newBackend(t, named("green"))
	sw := newTestSwitch(t, Options{}, "blue", blue.URL, "green", green.URL)
	base := serve(t, sw)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	var failures []string
	counts := map[string]int{}
	for range 20 {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			if isH2C(proto) {
				tr.Protocols = proto.Transport.(*http.Transport).Protocols
			}
			c := &http.Client{Transport: tr}
			defer c.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(base + "/")
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case resp.StatusCode != 200 || (string(body) != "blue" && string(body) != "green"):
					failures = append(failures, resp.Status+" "+string(body))
				default:
					counts[string(body)]++
				}
				mu.Unlock()
			}
		})
	}
	served := func() uint64 {
		tot := sw.Totals()
		return tot["blue"].Requests + tot["green"].Requests
	}
	for i := range 100 {
		sw.Activate([]string{"green", "blue"}[i%2])
		n := served()
		waitFor(t, "traffic between switches", func() bool { return served() >= n+5 })
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	if counts["blue"] == 0 || counts["green"] == 0 {
		t.Fatalf("counts %v: both versions should have served", counts)
	}
	tot := sw.Totals()
	if tot["blue"].Errors+tot["green"].Errors != 0 {
		t.Fatalf("errors recorded: %v", tot)
	}
	if int(tot["blue"].Requests) != counts["blue"] || int(tot["green"].Requests) != counts["green"] {
		t.Fatalf("Totals %v, clients saw %v", tot, counts)
	}
}

func TestServeH2CAndGracefulDrain(t *testing.T) {
	tick := make(chan struct{})
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			streamer("v", 2, tick)(w, r)
			return
		}
		io.WriteString(w, r.Proto)
	})
	sw := newTestSwitch(t, Options{DrainTimeout: 5 * time.Second}, "v", be.URL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &p}}
	resp, err := h2.Get(base + "/proto")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "HTTP/1.1" {
		t.Fatalf("client proto %s, backend saw %q", resp.Proto, body)
	}

	stream, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	tick <- struct{}{}
	br := bufio.NewReader(stream.Body)
	br.ReadString('\n')
	cancel() // shutdown starts while the stream is in flight
	waitFor(t, "the listener to close", func() bool {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			nc.Close()
		}
		return err != nil
	})
	tick <- struct{}{}
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "data: v 1") {
		t.Fatalf("stream cut by shutdown: %q, %v", rest, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still open after shutdown")
	}
}

func TestResponseTimeout(t *testing.T) { forEachProto(t, testResponseTimeout) }

func testResponseTimeout(t *testing.T, c *http.Client) {
	release, more := make(chan struct{}), make(chan struct{})
	defer close(release)
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		// Starts at once, then goes on after the timeout has passed.
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 0\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-more:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: 1\n\ndata: 2\n\n")
	})
	sw := newTestSwitch(t, Options{ResponseTimeout: 100 * time.Millisecond}, "v", be.URL)
	base := serve(t, sw)
	stream, err := c.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	br := bufio.NewReader(stream.Body)
	if line, _ := br.ReadString('\n'); line != "data: 0\n" {
		t.Fatalf("first chunk %q", line)
	}
	// /hang started after the stream did: its 504 means the stream has
	// now outlived the response timeout.
	if code, _ := get(t, c, base+"/hang"); code != http.StatusGatewayTimeout {
		t.Fatalf("hanging upstream: status %d, want 504", code)
	}
	close(more)
	if rest, err := io.ReadAll(br); err != nil || strings.Count(string(rest), "data:") != 2 {
		t.Fatalf("slow stream cut: %q, %v", rest, err)
	}
	waitFor(t, "both recorded", func() bool { return stats(sw, "v").Requests == 2 })
	if s := stats(sw, "v"); s.Errors != 1 || s.Status5xx != 0 {
		t.Fatalf("stats %v: the timeout is a version error, not a 5xx answer", s)
	}
}
