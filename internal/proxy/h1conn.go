package proxy

import (
	"bufio"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// h1conn is one client connection on the HTTP/1.1 fast path. Its goroutine
// reads a request head, forwards the request synchronously over a pooled
// upstream connection, relays the answer, and loops. Anything the fast path
// does not handle (HTTP/1.0, h2c, Upgrade, Expect, absolute-form targets,
// oversized or odd heads, chunked bodies that retry_on_previous would have to
// buffer) is handed, untouched, to net/http and ServeHTTP.
type h1conn struct {
	s       *Switch
	srv     *h1server
	nc      net.Conn
	io      *deferConn // br's source and bw's sink
	br      *bufio.Reader
	bw      *bufio.Writer // from clientWriters while a request is served, else nil
	ip      string        // client address for X-Forwarded-For
	trusted bool          // the peer is one of Options.TrustedProxies

	handedOff bool         // the connection belongs to net/http now
	state     atomic.Int32 // connIdle, connActive or connClosing
	served    bool         // a request was answered: the next wait is idle time
	dl        deadline

	hdr []byte // the request's header lines as sent upstream (version independent)
	// hasAuth: the client sent an Authorization header (kept in hdr), so a
	// version URL's userinfo adds none.
	hasAuth bool
	line    []byte // method SP target
	body    []byte // request body kept for a retry or a shadow copy
	xs      [2]exchange
	// capture > 0 keeps that much of the answer's body for a shadow
	// comparison (shadow.go).
	capture int
}

const (
	connIdle int32 = iota
	connActive
	connClosing
)

const (
	clientReadBuf  = 4 << 10
	clientWriteBuf = 32 << 10
)

// reqHead is what the fast path needs to know about a request.
type reqHead struct {
	headLen    int
	method     []byte // in c.line
	target     []byte // in c.line
	length     int64  // Content-Length, -1 if none
	chunked    bool
	closeAfter bool // the client asked for Connection: close
}

func (r *reqHead) hasBody() bool { return r.length > 0 || r.chunked }

func (c *h1conn) serve() {
	defer c.srv.forget(c)
	defer c.dropWriter()
	for {
		if c.bw != nil && c.bw.Buffered() == 0 {
			c.dropWriter() // idle connections hold no write buffer
		}
		// Arm before turning idle: a shutdown's immediate deadline, set once
		// the connection is idle, must not be overwritten.
		if c.served {
			c.armIdle()
		}
		if !c.state.CompareAndSwap(connActive, connIdle) && c.state.Load() != connIdle || c.srv.closing.Load() {
			c.io.writePending() // the last answer's deferred tail
			c.nc.Close()
			return
		}
		head, err := c.readHead()
		if err != nil {
			if err == errHeadTooLarge {
				c.handoff()
				return
			}
			c.nc.Close() // EOF, idle or header timeout, or shutdown
			return
		}
		if !c.state.CompareAndSwap(connIdle, connActive) {
			c.nc.Close()
			return
		}
		if c.bw == nil {
			c.bw = clientWriters.Get().(*bufio.Writer)
			c.bw.Reset(c.io)
		}
		var rq reqHead
		if !c.parseRequest(head, &rq) || c.needsBufferedChunks(&rq) {
			c.handoff()
			return
		}
		c.br.Discard(rq.headLen)
		c.served = true
		if !c.proxy(&rq) {
			c.nc.Close()
			return
		}
	}
}

// readHead is peekHead with the header deadline: once part of a head has
// arrived, the rest must follow within Options.HeaderTimeout. Heads almost
// always arrive in one read, so this rarely costs a timer update.
func (c *h1conn) readHead() ([]byte, error) {
	for want := 1; ; {
		if _, err := c.br.Peek(want); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, errHeadTooLarge
			}
			return nil, err
		}
		buf, _ := c.br.Peek(c.br.Buffered())
		if n := headEnd(buf); n > 0 {
			return buf[:n], nil
		}
		if want = len(buf) + 1; want > c.br.Size() {
			return nil, errHeadTooLarge
		}
		if c.dl.kind != dlHeader {
			c.setDeadline(dlHeader, time.Now().Add(c.s.opts.HeaderTimeout))
			if c.state.Load() == connClosing {
				c.nc.SetReadDeadline(time.Now()) // a shutdown woke it meanwhile
			}
		}
	}
}

// The client connection's read deadline is one of: the header deadline
// (from accept, or from a head's first bytes), the idle deadline between
// requests, or, while a body is read, the body's progress deadline, which
// deferConn moves before every read. No deadline bounds the relay of an
// answer: the fast path does not read from the client meanwhile.
type deadline struct {
	kind  int
	setAt time.Time
}

const (
	dlNone = iota
	dlHeader
	dlIdle
	dlBody
)

func (c *h1conn) setDeadline(kind int, t time.Time) {
	c.dl = deadline{kind: kind, setAt: time.Now()}
	c.nc.SetReadDeadline(t)
}

// armIdle bounds the wait for the next request head. Moving a deadline
// costs a timer update, so an idle one is moved at most once a second.
func (c *h1conn) armIdle() {
	now := time.Now()
	if c.dl.kind == dlIdle && now.Sub(c.dl.setAt) < time.Second {
		return
	}
	c.dl = deadline{kind: dlIdle, setAt: now}
	c.nc.SetReadDeadline(now.Add(c.s.opts.IdleTimeout))
}

// bodyReads puts the client connection's reads under the body's progress
// deadline (on) or takes them out of it.
func (c *h1conn) bodyReads(on bool) {
	if on {
		c.dl.kind = dlBody
		c.io.progress = c.s.opts.BodyTimeout
		return
	}
	c.io.progress = 0
}

// handoff gives the connection, with the bytes already buffered, to net/http.
func (c *h1conn) handoff() {
	if c.bw != nil && c.bw.Flush() != nil {
		c.nc.Close()
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	c.dropWriter()
	c.handedOff = true
	c.srv.handoffTo(&prefixConn{Conn: c.nc, r: c.br, open: &c.srv.open})
}

// dropWriter returns the connection's write buffer, and any held by a
// deferred flush that will not happen, to the pool.
func (c *h1conn) dropWriter() {
	if c.handedOff {
		return // net/http reads through c.io now
	}
	if c.bw != nil {
		releaseWriter(c.bw)
		c.bw = nil
	}
	c.io.sent()
}

// needsBufferedChunks: a chunked body that retry_on_previous would buffer is
// left to ServeHTTP, which can hold it whole.
func (c *h1conn) needsBufferedChunks(rq *reqHead) bool {
	return rq.chunked && c.s.opts.Retry.Enabled && retryableMethod(string(rq.method), c.s.opts.Retry.NonIdempotent)
}

// prefixConn replays what the fast path had buffered before the rest of the
// connection, for net/http.
type prefixConn struct {
	net.Conn
	r      *bufio.Reader
	open   *atomic.Int64 // the listener's connection count
	closed atomic.Bool
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// Close is called by net/http, or by whoever hijacked the connection (a
// tunnel), once; only then does the connection stop counting.
func (p *prefixConn) Close() error {
	if p.closed.CompareAndSwap(false, true) {
		p.open.Add(-1)
	}
	return p.Conn.Close()
}
