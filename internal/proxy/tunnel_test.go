package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// h2cUpgrader stands for a backend that accepts "Upgrade: h2c": it answers
// 101 and then keeps answering on the tunnel with its own name, whatever
// version the switch has moved to since.
func h2cUpgrader(name string, sawUpgrade chan<- bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sawUpgrade <- r.Header.Get("Upgrade") != "" || r.Header.Get("Http2-Settings") != ""
		if r.Header.Get("Upgrade") != "h2c" {
			io.WriteString(w, name)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
		brw.Flush()
		for {
			if _, err := brw.ReadString('\n'); err != nil {
				return
			}
			brw.WriteString(name + "\n")
			brw.Flush()
		}
	}
}

// TestH2CUpgradeServedAsHTTP1: Upgrade: h2c over HTTP/1.1 is answered as
// plain HTTP/1.1, as net/http does; relayed, the tunnel kept being
// answered by the old version after a rollback.
func TestH2CUpgradeServedAsHTTP1(t *testing.T) {
	saw := make(chan bool, 4)
	blue := newBackend(t, h2cUpgrader("blue", saw))
	green := newBackend(t, h2cUpgrader("green", saw))
	sw := newTestSwitch(t, Options{}, "blue", blue.URL, "green", green.URL)
	nc, br := rawConn(t, serve(t, sw))
	upgrade := "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
	io.WriteString(nc, upgrade)
	if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 || body != "blue" {
		t.Fatalf("h2c upgrade: %d %q, want a plain answer", resp.StatusCode, body)
	}
	if <-saw {
		t.Fatal("the backend saw Upgrade or HTTP2-Settings")
	}
	sw.Activate("green")
	io.WriteString(nc, upgrade)
	if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 || body != "green" {
		t.Fatalf("after the switch: %d %q, want green", resp.StatusCode, body)
	}
}

// openTunnel opens a WebSocket-style tunnel through the switch and checks
// it echoes.
func openTunnel(t *testing.T, base string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, br := rawConn(t, base)
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: svc\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	io.WriteString(nc, "ping\n")
	if got, err := br.ReadString('\n'); err != nil || got != "ping\n" {
		t.Fatalf("echo %q, %v", got, err)
	}
	return nc, br
}

// wantClosed waits for the switch to close the tunnel (EOF or reset, not
// the test's own deadline).
func wantClosed(t *testing.T, br *bufio.Reader, what string) {
	t.Helper()
	_, err := br.ReadString('\n')
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: tunnel still open (%v)", what, err)
	}
}

// TestTunnelClosedWhenVersionLeft: a tunnel to a version is closed when the
// switch moves away from it and when Serve shuts down; new tunnels go to
// the active version.
func TestTunnelClosedWhenVersionLeft(t *testing.T) {
	blue, green := newBackend(t, echoUpgrader), newBackend(t, echoUpgrader)
	sw := newTestSwitch(t, Options{}, "blue", blue.URL, "green", green.URL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	_, br := openTunnel(t, base)
	sw.Activate("green")
	wantClosed(t, br, "after Activate(green)")
	waitFor(t, "blue's tunnel gone", func() bool { return blue.conns.Load() == 0 })

	_, br = openTunnel(t, base)
	if green.hits.Load() != 1 {
		t.Fatalf("green hits %d: the new tunnel went elsewhere", green.hits.Load())
	}
	cancel()
	wantClosed(t, br, "after Serve's shutdown")
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if tot := sw.Totals(); tot["blue"].Errors+tot["green"].Errors != 0 {
		t.Fatalf("closed tunnels counted as errors: %v", tot)
	}
}

// TestStreamCutAfterDrainTimeout: a response still streaming from a
// version DrainTimeout after the switch moved away is cut, and not
// counted against that version.
func TestStreamCutAfterDrainTimeout(t *testing.T) { forEachProto(t, testStreamCutAfterDrainTimeout) }

func testStreamCutAfterDrainTimeout(t *testing.T, c *http.Client) {
	testOver := make(chan struct{})
	endless := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: blue\n\n")
		w.(http.Flusher).Flush()
		select { // streams until cut
		case <-r.Context().Done():
		case <-testOver:
		}
	}
	blue, green := newBackend(t, endless), newBackend(t, named("green"))
	sw := newTestSwitch(t, Options{DrainTimeout: 100 * time.Millisecond}, "blue", blue.URL, "green", green.URL)
	base := serve(t, sw)
	t.Cleanup(func() { close(testOver) }) // first: lets Serve's drain and the backends end
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/stream", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, _ := br.ReadString('\n'); line != "data: blue\n" {
		t.Fatalf("first line %q", line)
	}
	sw.Activate("green")
	_, err = io.ReadAll(br)
	if ctx.Err() != nil {
		t.Fatal("the stream outlived the drain timeout")
	}
	if err == nil && !strings.Contains(resp.Header.Get("Content-Type"), "event-stream") {
		t.Fatalf("stream ended oddly: %v", err)
	}
	if code, body := get(t, c, base+"/"); code != 200 || body != "green" {
		t.Fatalf("after the switch: %d %q", code, body)
	}
	if s := stats(sw, "blue"); s.Errors != 0 {
		t.Fatalf("the cut counted against blue: %+v", s)
	}
}
