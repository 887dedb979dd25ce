package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// upstream holds the connections to one version's URL.
//
// A version that is not active is "draining": a connection that finishes its
// request is closed instead of kept idle, so a switch never cuts a request
// but leaves no keep-alive connections behind to the old version. Tunnels
// (WebSocket) to it are closed at once, and requests still running on it
// after the drain timeout are cut (h1drain.go).
type upstream struct {
	tr       *http.Transport // ServeHTTP (h2c, handed-off connections)
	h1       *h1pool         // the HTTP/1.1 fast path
	draining atomic.Bool
	gen      atomic.Uint64 // bumped by drain and undrain: a stale drain timer does nothing
	drainFor time.Duration
	junk     func(n int, start []byte)

	mu    sync.Mutex
	conns map[*watchConn]struct{} // the Transport's live connections

	timerMu    sync.Mutex // guards the drain timer and what it acts on
	drainTimer *time.Timer
	drainStart int64  // UnixNano of the latest drain
	drainGen   uint64 // gen of the latest drain
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

type upstreamOpts struct {
	responseTimeout, drainTimeout time.Duration
	h1dial                        dialFunc // nil: TCP (tests replace it)
	junk                          func(n int, start []byte)
}

func newUpstream(u *url.URL, o upstreamOpts) *upstream {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	up := &upstream{drainFor: o.drainTimeout, junk: o.junk, conns: map[*watchConn]struct{}{}}
	up.tr = &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return up.watch(nc), nil
		},
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: 0,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
		ResponseHeaderTimeout: o.responseTimeout,
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	dial := o.h1dial
	if dial == nil {
		dial = d.DialContext
	}
	up.h1 = newH1Pool(addr, dial, o.junk)
	up.draining.Store(true)
	return up
}

// exchange starts a ServeHTTP request's use of the Transport: the context
// to send it with reports, through httptrace, which connection carried it.
// Call done on the exchange once the answer was read.
func newNetExchange(ctx context.Context, tunnel bool) (*netExchange, context.Context) {
	x := &netExchange{tunnel: tunnel}
	x.trace.GotConn = x.gotConn
	return x, httptrace.WithClientTrace(ctx, &x.trace)
}

func (u *upstream) roundTrip(req *http.Request) (*http.Response, error) {
	return u.tr.RoundTrip(req)
}

// netExchange is one ServeHTTP request's use of a Transport connection.
type netExchange struct {
	trace  httptrace.ClientTrace
	conn   *watchConn
	tunnel bool // an upgrade: its bytes are never unsolicited
}

func (x *netExchange) gotConn(info httptrace.GotConnInfo) {
	c, ok := info.Conn.(*watchConn)
	if !ok {
		return
	}
	if x.conn != nil { // the Transport retried on a new connection
		x.conn.pending.Add(-1)
	}
	x.conn = c
	c.busySince.Store(time.Now().UnixNano())
	c.pending.Add(1)
	if x.tunnel {
		c.tunnel.Store(true)
	}
}

// done ends the exchange: from now on bytes on its connection are answers
// to no one (until the Transport sends the next request).
func (x *netExchange) done() {
	if c := x.conn; c != nil && !x.tunnel {
		c.busySince.Store(0)
		c.pending.Add(-1)
	}
}

// wasCut reports that a drain closed the connection under the request.
func (x *netExchange) wasCut() bool { return x.conn != nil && x.conn.cut.Load() }

// watchConn is a Transport connection that notices bytes arriving while no
// request is pending on it, as the fast path's probe does; the Transport
// itself then drops the connection ("Unsolicited response received on idle
// HTTP channel"), this counts it for the version. Bytes that arrive in the
// same read as an answer's end are dropped by the Transport as well, but
// only the fast path can count those.
type watchConn struct {
	net.Conn
	up        *upstream
	pending   atomic.Int32 // requests sent and not completely answered
	busySince atomic.Int64
	tunnel    atomic.Bool
	cut       atomic.Bool
	closed    atomic.Bool
}

func (u *upstream) watch(nc net.Conn) *watchConn {
	c := &watchConn{Conn: nc, up: u}
	u.mu.Lock()
	u.conns[c] = struct{}{}
	u.mu.Unlock()
	return c
}

func (c *watchConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.pending.Load() <= 0 && !c.tunnel.Load() && c.up.junk != nil {
		c.up.junk(n, b[:min(n, 64)])
	}
	return n, err
}

func (c *watchConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.up.mu.Lock()
		delete(c.up.conns, c)
		c.up.mu.Unlock()
	}
	return c.Conn.Close()
}

// done is called when a ServeHTTP request on this upstream has finished.
func (u *upstream) done() {
	if u.draining.Load() {
		u.tr.CloseIdleConnections()
	}
}

func (u *upstream) undrain() {
	u.gen.Add(1)
	u.draining.Store(false)
	u.h1.undrain()
}

func (u *upstream) closeIdle() {
	u.tr.CloseIdleConnections()
	u.h1.closeIdle()
}
