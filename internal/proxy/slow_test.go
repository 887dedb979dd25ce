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

// wantHangUp waits for the switch to close a raw client connection (EOF or
// reset, not the test's own 5 s deadline), skipping any answer first.
func wantHangUp(t *testing.T, br *bufio.Reader, what string) {
	t.Helper()
	_, err := io.Copy(io.Discard, br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: the switch kept the connection open", what)
	}
}

// TestStalledBodyReleased: a client that stops sending its body mid-way is
// dropped after BodyTimeout, and the upstream connection with it (issue 9:
// 50 such clients held 50 upstream connections for minutes).
func TestStalledBodyReleased(t *testing.T) { forEachProto(t, testStalledBodyReleased) }

func testStalledBodyReleased(t *testing.T, c *http.Client) {
	bodyEnded := make(chan error, 1)
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyEnded <- err
	})
	sw := newTestSwitch(t, Options{BodyTimeout: 100 * time.Millisecond}, "v", be.URL)
	base := serve(t, sw)
	if isH2C(c) {
		pr, pw := io.Pipe()
		defer pw.Close()
		go pw.Write([]byte("x")) // one byte, then nothing
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/", pr)
		req.ContentLength = 100
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			t.Fatal("the switch waited for the body beyond BodyTimeout")
		}
	} else {
		nc, br := rawConn(t, base)
		io.WriteString(nc, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
		wantHangUp(t, br, "stalled body")
	}
	select {
	case err := <-bodyEnded:
		if err == nil {
			t.Fatal("the backend got a complete body")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the backend is still waiting for the body")
	}
	waitFor(t, "upstream connection released", func() bool { return be.conns.Load() == 0 })
	if s := stats(sw, "v"); s.Errors != 0 {
		t.Fatalf("the client's stall counted against the version: %+v", s)
	}
}

// TestHeaderDeadline: a head that does not arrive in HeaderTimeout (a new
// connection that sends nothing, a head cut short, an oversized head that
// the fast path hands to net/http) gets the connection closed.
func TestHeaderDeadline(t *testing.T) {
	sw := newTestSwitch(t, Options{HeaderTimeout: 100 * time.Millisecond}, "v", newBackend(t, named("v")).URL)
	base := serve(t, sw)
	for name, partial := range map[string]string{
		"silent":       "",
		"half a head":  "GET / HTTP/1.1\r\nHost: x\r\n",
		"oversized":    "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 6000),
		"second, half": "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\n",
	} {
		nc, br := rawConn(t, base)
		io.WriteString(nc, partial)
		wantHangUp(t, br, name)
	}
}

// TestIdleTimeoutNeverMidStream: keep-alive connections idle for
// IdleTimeout are closed, on both paths, but a response that streams for
// longer than that is not cut.
func TestIdleTimeoutNeverMidStream(t *testing.T) {
	release, testOver := make(chan struct{}), make(chan struct{})
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/stream" {
			io.WriteString(w, "ok")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-testOver:
		}
		io.WriteString(w, "data: 2\n\n")
	})
	sw := newTestSwitch(t, Options{IdleTimeout: 100 * time.Millisecond}, "v", be.URL)
	base := serve(t, sw)
	t.Cleanup(func() { close(testOver) })
	// Expect sends a request to net/http; plain ones take the fast path.
	for _, path := range []string{"fast path", "net/http"} {
		extra := ""
		if path == "net/http" {
			extra = "Expect: 100-continue\r\nContent-Length: 0\r\n"
		}
		idle, idleBR := rawConn(t, base)
		io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n"+extra+"\r\n")
		readResp(t, idleBR, "GET")
		stream, br := rawConn(t, base)
		io.WriteString(stream, "GET /stream HTTP/1.1\r\nHost: x\r\n"+extra+"\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		sbr := bufio.NewReader(resp.Body)
		if line, _ := sbr.ReadString('\n'); line != "data: 1\n" {
			t.Fatalf("%s: first chunk %q", path, line)
		}
		wantHangUp(t, idleBR, path+": idle connection") // the idle timeout has passed
		release <- struct{}{}
		rest, err := io.ReadAll(sbr)
		if err != nil || !strings.Contains(string(rest), "data: 2") {
			t.Fatalf("%s: stream cut by the idle timeout: %q, %v", path, rest, err)
		}
	}
}

// TestMaxConns: connections beyond MaxConns are answered 503, h2c and
// handed-off ones count, and a closed one frees its place.
func TestMaxConns(t *testing.T) {
	sw := newTestSwitch(t, Options{MaxConns: 2}, "v", newBackend(t, named("v")).URL)
	base := serve(t, sw)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &p}}
	if code, _ := get(t, h2, base+"/"); code != 200 { // one h2c connection
		t.Fatalf("h2c: %d", code)
	}
	first, br := rawConn(t, base)
	io.WriteString(first, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	readResp(t, br, "GET")

	nc, br := rawConn(t, base)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readResp(t, br, "GET"); resp.StatusCode != 503 || !strings.Contains(body, "too many") {
		t.Fatalf("third connection: %d %q, want 503", resp.StatusCode, body)
	}
	first.Close()
	waitFor(t, "a place freed", func() bool {
		nc, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			return false
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		return err == nil && resp.StatusCode == 200
	})
	h2.CloseIdleConnections()
}
