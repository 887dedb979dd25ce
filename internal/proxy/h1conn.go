package proxy

import (
	"bufio"
	"bytes"
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
	s   *Switch
	srv *h1server
	nc  net.Conn
	io  *deferConn // br's source and bw's sink
	br  *bufio.Reader
	bw  *bufio.Writer // from clientWriters while a request is served, else nil
	ip  string        // client address for X-Forwarded-For

	handedOff  bool         // the connection belongs to net/http now
	state      atomic.Int32 // connIdle, connActive or connClosing
	deadlineAt time.Time    // last idle read deadline set

	hdr  []byte // the request's header lines as sent upstream (version independent)
	line []byte // method SP target
	body []byte // request body kept for a retry
	xs   [2]exchange
}

const (
	connIdle int32 = iota
	connActive
	connClosing
)

const (
	clientReadBuf  = 4 << 10
	clientWriteBuf = 32 << 10
	idleTimeout    = 2 * time.Minute
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
		c.armIdleDeadline()
		if !c.state.CompareAndSwap(connActive, connIdle) && c.state.Load() != connIdle || c.srv.closing.Load() {
			c.io.writePending() // the last answer's deferred tail
			c.nc.Close()
			return
		}
		head, err := peekHead(c.br)
		if err != nil {
			if err == errHeadTooLarge {
				c.handoff()
				return
			}
			c.nc.Close() // EOF, idle timeout or shutdown
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
		if !c.proxy(&rq) {
			c.nc.Close()
			return
		}
	}
}

// armIdleDeadline bounds the wait for the next request head. Moving a
// deadline costs a timer update, so it is moved at most once a second.
func (c *h1conn) armIdleDeadline() {
	now := time.Now()
	if now.Sub(c.deadlineAt) < time.Second {
		return
	}
	c.deadlineAt = now
	c.nc.SetReadDeadline(now.Add(idleTimeout))
}

// clearDeadline lifts the idle deadline before a request body is read, so
// a long upload is not cut.
func (c *h1conn) clearDeadline() {
	if !c.deadlineAt.IsZero() {
		c.nc.SetReadDeadline(time.Time{})
		c.deadlineAt = time.Time{}
	}
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
	c.srv.handoff(&prefixConn{Conn: c.nc, r: c.br})
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

// parseRequest checks head and builds the upstream header block in c.hdr.
// It reports false for anything the fast path leaves to net/http.
func (c *h1conn) parseRequest(head []byte, rq *reqHead) bool {
	rq.headLen, rq.length = len(head), -1
	line, rest := nextLine(head)
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 || string(line[sp2+1:]) != "HTTP/1.1" || line[sp1+1] != '/' ||
		bytes.IndexByte(line[sp1+1:sp2], ' ') >= 0 || bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		return false
	}
	c.line = append(c.line[:0], line[:sp2]...)
	rq.method, rq.target = c.line[:sp1], c.line[sp1+1:]

	var f fwdHeaders
	if !scanRequestHeaders(rest, rq, &f) || f.host == nil || (rq.chunked && rq.length >= 0) {
		return false
	}
	c.writeHeaderBlock(rest, &f)
	return true
}

// fwdHeaders is what the request's headers say about forwarding.
type fwdHeaders struct {
	connVals                          [][]byte // Connection values naming other headers
	host, xff, via                    []byte
	hasXFHost, hasXFProto, teTrailers bool
}

// scanRequestHeaders reads the framing and forwarding headers; false for
// anything left to net/http.
func scanRequestHeaders(lines []byte, rq *reqHead, f *fwdHeaders) bool {
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		name, val, ok := splitHeader(hl)
		if !ok {
			return false
		}
		switch kindOf(name) {
		case hConnection:
			closeConn, names := connTokens(val)
			rq.closeAfter = rq.closeAfter || closeConn
			if names {
				f.connVals = append(f.connVals, val)
			}
		case hContentLength:
			n := parseLength(val)
			if n < 0 || (rq.length >= 0 && n != rq.length) {
				return false
			}
			rq.length = n
		case hTransferEncoding:
			if !isChunked(val) || rq.chunked {
				return false
			}
			rq.chunked = true
		case hHost:
			if f.host != nil {
				return false
			}
			f.host = val
		case hExpect, hUpgrade:
			return false
		case hTe:
			f.teTrailers = f.teTrailers || eqFold(val, "trailers")
		case hXFF:
			f.xff = appendList(f.xff, val)
		case hVia:
			f.via = appendList(f.via, val)
		case hXFHost:
			f.hasXFHost = true
		case hXFProto:
			f.hasXFProto = true
		}
	}
	return true
}

// writeHeaderBlock fills c.hdr with the header lines to send upstream: the
// client's minus hop-by-hop and framing ones, plus the forwarding headers.
func (c *h1conn) writeHeaderBlock(lines []byte, f *fwdHeaders) {
	connVals, host, xff, via := f.connVals, f.host, f.xff, f.via
	h := c.hdr[:0]
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		name, _, _ := splitHeader(hl)
		switch kindOf(name) {
		case hOther, hHost, hXFHost, hXFProto, hContentType:
			if connVals != nil && namedBy(connVals, name) {
				continue
			}
			h = append(append(h, hl...), '\r', '\n')
		}
	}
	h = append(h, "X-Forwarded-For: "...)
	if len(xff) > 0 {
		h = append(append(h, xff...), ", "...)
	}
	h = append(append(h, c.ip...), "\r\nVia: "...)
	if len(via) > 0 {
		h = append(append(h, via...), ", "...)
	}
	h = append(h, "1.1 ripcord\r\n"...)
	if !f.hasXFHost {
		h = append(append(append(h, "X-Forwarded-Host: "...), host...), '\r', '\n')
	}
	if !f.hasXFProto {
		h = append(h, "X-Forwarded-Proto: http\r\n"...)
	}
	if f.teTrailers {
		h = append(h, "Te: trailers\r\n"...)
	}
	c.hdr = h
}

func appendList(dst, v []byte) []byte {
	if len(dst) > 0 {
		dst = append(dst, ", "...)
	}
	return append(dst, v...)
}

// prefixConn replays what the fast path had buffered before the rest of the
// connection, for net/http.
type prefixConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }
