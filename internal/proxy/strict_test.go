package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// wireBackend records the raw bytes every request arrived with, so a test
// sees what the switch relayed, not what a parser made of it.
type wireBackend struct {
	*rawServer
	mu  sync.Mutex
	raw bytes.Buffer
}

type teeConn struct {
	net.Conn
	w *wireBackend
}

func (c teeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.w.mu.Lock()
	c.w.raw.Write(b[:n])
	c.w.mu.Unlock()
	return n, err
}

func newWireBackend(t *testing.T) *wireBackend {
	w := &wireBackend{}
	w.rawServer = newRawServer(t, func(s *rawServer, nc net.Conn, _ *bufio.Reader) {
		readRequests(bufio.NewReader(teeConn{nc, w}), func(r *http.Request) bool {
			answer(nc, "ok")
			return true
		})
	})
	return w
}

func (w *wireBackend) wire() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.raw.String()
}

// TestStrictRequestParsing: what net/http refuses is refused, on the fast
// path too (which hands such requests to net/http); nothing of it reaches
// the backend.
func TestStrictRequestParsing(t *testing.T) {
	be := newWireBackend(t)
	sw := newTestSwitch(t, Options{}, "v", be.URL)
	base := serve(t, sw)
	cases := map[string]string{
		"name with VT":        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length\v: 3\r\n\r\nabc",
		"name not a token":    "GET / HTTP/1.1\r\nHost: x\r\nX(A)@: 1\r\n\r\n",
		"method not a token":  "G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
		"control in target":   "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
		"DEL in target":       "GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",
		"bad escape":          "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"host with space":     "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"host with slash":     "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
		"length with NBSP":    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\xc2\xa0\r\n\r\nabc",
		"chunked with FF/VT":  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \fchunked\v\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"value with NUL":      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\x002\r\n\r\n",
		"value with ESC":      "GET / HTTP/1.1\r\nHost: x\r\nX-A: \x1b[31m\r\n\r\n",
		"two hosts":           "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"bare CR":             "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\rX-B: 2\r\n\r\n",
		"space before colon":  "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		"CL with sign":        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
		"two lengths":         "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"TE other than chunk": "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	}
	for name, raw := range cases {
		nc, br := rawConn(t, base)
		io.WriteString(nc, raw)
		resp, _ := readResp(t, br, "GET")
		if resp.StatusCode < 400 || resp.StatusCode == 502 {
			t.Errorf("%s: status %d, want net/http's refusal", name, resp.StatusCode)
		}
	}
	if n := be.wire(); n != "" {
		t.Fatalf("the backend received:\n%q", n)
	}
	// A folded line is never relayed as such: net/http unfolds it.
	nc, br := rawConn(t, base)
	io.WriteString(nc, "GET /fold HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\nConnection: close\r\n\r\n")
	readResp(t, br, "GET")
	if w := be.wire(); strings.Contains(w, "\r\n 2") {
		t.Fatalf("folded line relayed: %q", w)
	}
	// Values are trimmed of SP and HTAB only, and relayed whole.
	nc, br = rawConn(t, base)
	io.WriteString(nc, "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: \t3 \r\nX-A: \ta b\t\r\n\r\nabc")
	if resp, body := readResp(t, br, "POST"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("valid request: %d %q", resp.StatusCode, body)
	}
	if w := be.wire(); !strings.Contains(w, "X-A: \ta b\t\r\n") || !strings.HasSuffix(w, "\r\n\r\nabc") {
		t.Fatalf("relayed %q", w)
	}
}

// TestStrictStatusLine: a backend status line (or header) with a CR or
// another control byte is a 502 on the fast path, never relayed; the
// net/http path writes its own status line, so nothing of it reaches the
// client either.
func TestStrictStatusLine(t *testing.T) { forEachProto(t, testStrictStatusLine) }

func testStrictStatusLine(t *testing.T, c *http.Client) {
	heads := map[string]string{
		"CR in reason":     "HTTP/1.1 200 OK\rX-Injected: 1\r\nContent-Length: 2\r\n\r\nok",
		"NUL in reason":    "HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nok",
		"ESC in header":    "HTTP/1.1 200 OK\r\nX-Injected: \x1b]0;x\x07\r\nContent-Length: 2\r\n\r\nok",
		"101 unasked":      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nX-Injected: 1\r\n\r\n",
		"name not a token": "HTTP/1.1 200 OK\r\nX(Injected): 1\r\nContent-Length: 2\r\n\r\nok",
	}
	if !isH2C(c) {
		// A 1xx cannot have a body: the fast path refuses one framed for
		// it. (net/http reads what follows as the final answer, which is
		// this backend's own answer to this request.)
		heads["framed 100"] = "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nX-Injected: 1\r\nContent-Length: 0\r\n\r\n"
	}
	for name, head := range heads {
		t.Run(name, func(t *testing.T) {
			be := newRawServer(t, func(s *rawServer, nc net.Conn, br *bufio.Reader) {
				readRequests(br, func(*http.Request) bool { io.WriteString(nc, head); return false })
			})
			sw := newTestSwitch(t, Options{}, "v", be.URL)
			resp, err := c.Get(serve(t, sw) + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k := range resp.Header {
				if strings.Contains(k, "Injected") {
					t.Fatalf("status %d, header %v: the backend's bytes reached the client", resp.StatusCode, resp.Header)
				}
			}
			if !isH2C(c) && resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d, want 502", resp.StatusCode)
			}
		})
	}
}

// TestConnectionNeverStripsHost: a Connection header may not remove Host
// or a header the switch sets itself, on the fast path (HTTP/1.1) and on
// net/http's (HTTP/1.0 is handed to it).
func TestConnectionNeverStripsHost(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	sw := newTestSwitch(t, Options{}, "v", be.URL)
	base := serve(t, sw)
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		nc, br := rawConn(t, base)
		io.WriteString(nc, "GET / "+proto+"\r\nHost: svc.example\r\nConnection: close, host, x-forwarded-for, x-forwarded-host, x-forwarded-proto, via, x-private\r\n"+
			"X-Forwarded-For: 10.0.0.1\r\nVia: 1.0 edge\r\nX-Private: secret\r\n\r\n")
		if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%s: %d %q", proto, resp.StatusCode, body)
		}
	}
	if len(got) != 2 {
		t.Fatalf("backend saw %d requests", len(got))
	}
	for i, r := range got {
		want := map[string]string{"X-Forwarded-For": "10.0.0.1, 127.0.0.1", "Via": "1.0 edge, 1.1 ripcord",
			"X-Forwarded-Host": "svc.example", "X-Forwarded-Proto": "http", "X-Private": ""}
		if r.Host != "svc.example" {
			t.Errorf("request %d: Host %q", i, r.Host)
		}
		for k, v := range want {
			if r.Header.Get(k) != v {
				t.Errorf("request %d: %s = %q, want %q", i, k, r.Header.Get(k), v)
			}
		}
	}
}
