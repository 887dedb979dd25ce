package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzDifferential runs every input through the fast path and, unless the
// fast path handed it to net/http, through the switch's own net/http path
// (an http.Server running ServeHTTP, as Serve does), and checks they agree:
// on whether a first request is forwarded at all, and on its method,
// target, Host, headers and body bytes as they reach the backend. The fast
// path's bytes must also be a message net/http would accept as it is.
// Each input is tried from an untrusted and from a trusted peer.
func FuzzDifferential(f *testing.F) {
	for _, s := range diffSeeds {
		f.Add([]byte(s))
	}
	h := newDiffHarness(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, peer := range []string{"192.0.2.1:4321", "10.1.2.3:4321"} {
			h.check(t, data, peer)
		}
	})
}

var diffSeeds = []string{
	"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"0 / HTTP/1.1\nHost:0\nUser-Agent:\n\n", // found by the fuzzer: net/http drops an empty User-Agent
	"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent:  \r\nConnection: user-agent\r\n\r\n",
	"GET /a/b%2Fc?d=e&f HTTP/1.1\r\nHost: svc:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
	"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-A, host, via\r\nX-A: 1\r\nVia: 1.0 a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For:\r\nForwarded: for=1\r\nX-Real-IP: 1\r\nX-Forwarded-Host: h\r\nX-Forwarded-Proto: https\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nTe: trailers\r\nTrailer: X-T\r\nKeep-Alive: 1\r\nProxy-Authorization: a\r\n\r\n",
	"GET / HTTP/1.1\nHost: x\n\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length\v: 3\r\n\r\nabc",
	"GET / HTTP/1.1\r\nHost: x\r\nX(A)@: 1\r\n\r\n",
	"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\xc2\xa0\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \fchunked\v\r\n\r\n0\r\n\r\n",
	"GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%zz?%zz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a!$&'()*+,;=:@[]~ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
	"GET /? HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: y\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
}

// diffHarness holds one switch whose fast path talks to in-memory
// upstreams (so each run is synchronous and exact) and whose net/http path
// talks to a real backend.
type diffHarness struct {
	sw       *Switch
	fastSrv  *h1server
	oracle   *http.Server
	oln      *chanListener
	captures chan capture

	mu        sync.Mutex
	ups       []*memUpstream
	handedOff bool
	served    chan struct{}
	closed    chan struct{}
}

// capture is a request as a backend parsed it.
type capture struct {
	req  *http.Request
	body []byte
	err  error
}

func newDiffHarness(f *testing.F) *diffHarness {
	h := &diffHarness{captures: make(chan capture, 16)}
	be := newRawServer(f, func(s *rawServer, nc net.Conn, br *bufio.Reader) {
		for {
			c := readCapture(br)
			h.captures <- c
			if c.err != nil {
				return
			}
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	h.sw = New(Options{Service: "fuzz", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	h.sw.h1dial = func(context.Context, string, string) (net.Conn, error) {
		u := &memUpstream{}
		h.mu.Lock()
		h.ups = append(h.ups, u)
		h.mu.Unlock()
		return u, nil
	}
	if err := h.sw.SetVersion("v", be.URL+"/base"); err != nil {
		f.Fatal(err)
	}
	h.sw.Activate("v")
	h.fastSrv = h.sw.newH1Server(context.Background(), &net.TCPAddr{})
	h.fastSrv.handoffTo = func(nc net.Conn) { h.handedOff = true; nc.Close() }

	osrv := h.sw.newH1Server(context.Background(), &net.TCPAddr{})
	h.oracle, h.oln = osrv.hs, osrv.hl
	h.oracle.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.sw.ServeHTTP(w, r)
		h.served <- struct{}{}
	})
	h.oracle.ErrorLog = nil
	h.oracle.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed || st == http.StateHijacked {
			h.closed <- struct{}{}
		}
	}
	go h.oracle.Serve(h.oln)
	f.Cleanup(func() { h.oln.Close(); h.sw.Close() })
	return h
}

func readCapture(br *bufio.Reader) capture {
	r, err := http.ReadRequest(br)
	if err != nil {
		return capture{err: err}
	}
	body, err := io.ReadAll(r.Body)
	return capture{req: r, body: body, err: err}
}

// outcome of one path for an input's first request.
type diffOutcome struct {
	handedOff  bool
	forwarded  *capture // a complete request reached the backend
	incomplete bool     // the input ended before the request did
	raw        []byte   // the fast path's bytes upstream
}

func (h *diffHarness) check(t *testing.T, data []byte, peer string) {
	fast := h.runFast(data, peer)
	if fast.handedOff {
		return // net/http decides; nothing to compare
	}
	if fast.forwarded != nil {
		checkWire(t, data, fast.raw)
	}
	oracle := h.runOracle(t, data, peer)
	switch {
	case fast.forwarded == nil && oracle.forwarded == nil:
		return // neither forwarded a request (both refused, or both wait for more)
	case fast.forwarded == nil:
		t.Fatalf("peer %s: net/http forwards %q but the fast path does not (incomplete=%v)", peer, data, fast.incomplete)
	case oracle.forwarded == nil:
		t.Fatalf("peer %s: the fast path forwards %q, which net/http refuses (incomplete=%v):\n%q", peer, data, oracle.incomplete, fast.raw)
	}
	if d := diffRequests(fast.forwarded, oracle.forwarded); d != "" {
		t.Fatalf("peer %s: %q reaches the backend differently: %s\nfast path sent %q", peer, data, d, fast.raw)
	}
}

// runFast serves data on the fast path, synchronously, against in-memory
// upstreams.
func (h *diffHarness) runFast(data []byte, peer string) diffOutcome {
	h.mu.Lock()
	h.ups, h.handedOff = nil, false
	h.mu.Unlock()
	srv := h.fastSrv
	c := srv.newConn(newMemConn(data, peer, false))
	srv.open.Add(1)
	srv.wg.Add(1)
	c.serve()
	h.sw.Close() // the next input starts with no pooled connection
	out := diffOutcome{handedOff: h.handedOff}
	if len(h.ups) == 0 {
		out.incomplete = true
		return out
	}
	out.raw = h.ups[0].written.Bytes()
	cp := readCapture(bufio.NewReader(bytes.NewReader(out.raw)))
	if cp.err != nil {
		out.incomplete = true // the client's bytes ended mid-request
		return out
	}
	out.forwarded = &cp
	return out
}

// runOracle serves data's first request with the switch's http.Server.
func (h *diffHarness) runOracle(t *testing.T, data []byte, peer string) diffOutcome {
	cr := &countReader{r: bytes.NewReader(data)}
	br := bufio.NewReader(cr)
	pre := readCapture(br)
	switch {
	case pre.err != nil && (errors.Is(pre.err, io.EOF) || errors.Is(pre.err, io.ErrUnexpectedEOF)):
		return diffOutcome{incomplete: true}
	case pre.err != nil:
		return diffOutcome{} // refused by the parser the server uses
	}
	first := data[:cr.n-br.Buffered()]
	for len(h.captures) > 0 {
		<-h.captures
	}
	h.served, h.closed = make(chan struct{}, 4), make(chan struct{}, 4)
	nc := newMemConn(first, peer, true)
	h.oln.ch <- nc
	select {
	case <-h.served:
	case <-h.closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("net/http neither served nor refused %q", first)
	}
	nc.Close()
	<-h.closed
	if os.Getenv("DIFF_DEBUG") != "" {
		t.Logf("oracle answered %q", nc.out.String())
	}
	out := diffOutcome{}
	for len(h.captures) > 0 && out.forwarded == nil {
		switch cp := <-h.captures; {
		case cp.err == nil:
			out.forwarded = &cp
		case !errors.Is(cp.err, io.EOF): // io.EOF: an idle connection closed
			t.Fatalf("the net/http path sent the backend a message it cannot parse: %v", cp.err)
		}
	}
	return out
}

// checkWire: every line the fast path sent upstream is one net/http would
// accept without rewriting it.
func checkWire(t *testing.T, in, raw []byte) {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	if m, target, ok := strings.Cut(strings.TrimSuffix(lines[0], " HTTP/1.1"), " "); !ok || !validToken([]byte(m)) || !validTarget([]byte(target)) {
		t.Fatalf("%q: request line %q", in, lines[0])
	}
	for _, l := range lines[1:] {
		if _, _, ok := splitHeader([]byte(l)); !ok {
			t.Fatalf("%q: the fast path sent the line %q", in, l)
		}
	}
}

// diffRequests compares two requests as a backend sees them. Framing
// (Content-Length: 0 or none, chunked or not) may differ; the bytes of
// the body may not.
func diffRequests(a, b *capture) string {
	ra, rb := a.req, b.req
	switch {
	case ra.Method != rb.Method:
		return "method " + ra.Method + " vs " + rb.Method
	case ra.RequestURI != rb.RequestURI:
		return "target " + ra.RequestURI + " vs " + rb.RequestURI
	case ra.Host != rb.Host:
		return "host " + ra.Host + " vs " + rb.Host
	case !bytes.Equal(a.body, b.body):
		return "body " + string(a.body) + " vs " + string(b.body)
	}
	ha, hb := ra.Header.Clone(), rb.Header.Clone()
	for _, h := range []http.Header{ha, hb} {
		delete(h, "Content-Length")
		delete(h, "Transfer-Encoding")
	}
	if !reflect.DeepEqual(ha, hb) {
		return "headers\n  fast:     " + fmtHeader(ha) + "\n  net/http: " + fmtHeader(hb)
	}
	if !reflect.DeepEqual(ra.Trailer, rb.Trailer) {
		return "trailers " + fmtHeader(ra.Trailer) + " vs " + fmtHeader(rb.Trailer)
	}
	return ""
}

func fmtHeader(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return strings.ReplaceAll(b.String(), "\r\n", " | ")
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// memConn is a client connection in memory: it yields data, then EOF (the
// fast path, run synchronously) or blocks until closed (net/http, which
// would take an early EOF for a client gone and cancel the request).
type memConn struct {
	r      *bytes.Reader
	block  bool
	peer   net.Addr
	out    bytes.Buffer
	closed chan struct{}
	once   sync.Once
}

func newMemConn(data []byte, peer string, block bool) *memConn {
	return &memConn{r: bytes.NewReader(data), block: block, peer: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(peer)), closed: make(chan struct{})}
}

func (c *memConn) Read(p []byte) (int, error) {
	if c.r.Len() > 0 {
		return c.r.Read(p)
	}
	if c.block {
		<-c.closed
	}
	return 0, io.EOF
}

func (c *memConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.out.Write(p) // written by the connection's one goroutine
}

func (c *memConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (c *memConn) RemoteAddr() net.Addr             { return c.peer }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// memUpstream is a backend connection in memory for the fast path: it
// keeps what was written and answers each request with an empty 200 once
// the switch reads; a read with nothing asked is a probe and times out.
type memUpstream struct {
	written bytes.Buffer
	asked   bool
	answer  *bytes.Reader // set: the whole answer stream, then EOF
}

func (u *memUpstream) Write(p []byte) (int, error) { u.asked = true; return u.written.Write(p) }

func (u *memUpstream) Read(p []byte) (int, error) {
	if u.answer != nil {
		if !u.asked {
			return 0, os.ErrDeadlineExceeded
		}
		return u.answer.Read(p)
	}
	if !u.asked {
		return 0, os.ErrDeadlineExceeded
	}
	u.asked = false
	return copy(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), nil
}

func (u *memUpstream) Close() error                     { return nil }
func (u *memUpstream) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (u *memUpstream) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (u *memUpstream) SetDeadline(time.Time) error      { return nil }
func (u *memUpstream) SetReadDeadline(time.Time) error  { return nil }
func (u *memUpstream) SetWriteDeadline(time.Time) error { return nil }

// idleConns lists the idle fast-path connections of every version.
func (s *Switch) idleConns() []*upConn {
	var out []*upConn
	for _, v := range *s.versions.Load() {
		v.up.h1.mu.Lock()
		out = append(out, v.up.h1.idle...)
		v.up.h1.mu.Unlock()
	}
	return out
}
