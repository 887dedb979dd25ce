package proxy

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// respond relays x's answer (or failure) to the client and records the
// outcome for x.v, with the same rules as ServeHTTP: 5xx and connection
// failures are errors, a client that went away is not recorded, latency is
// until the body was relayed completely. It reports whether the client
// connection may carry another request.
func (c *h1conn) respond(x *exchange, rq *reqHead) bool {
	if x.err != nil {
		if x.up != nil {
			x.v.up.h1.discard(x.up)
		}
		if x.clientErr {
			return false
		}
		if x.cut() { // a drain ended it: not the version's fault
			return c.writeError(502, "ripcord: version switched away from\n", rq) && !rq.hasBody()
		}
		c.s.complete(x.v, &x.fl, outcomeConnErr)
		c.s.log.Debug("proxy upstream failed", "version", x.v.name, "err", x.err)
		// The request body may be partly unread: close after the answer.
		if isTimeout(x.err) {
			return c.writeError(504, "ripcord: upstream timed out\n", rq) && !rq.hasBody()
		}
		return c.writeError(502, "ripcord: upstream unavailable\n", rq) && !rq.hasBody()
	}
	up := x.up
	head, _ := up.br.Peek(x.headLen)
	line, lines := nextLine(head)
	rh, ok := scanResponse(lines, x, rq)
	if !ok {
		x.v.up.h1.discard(up)
		c.s.complete(x.v, &x.fl, outcomeConnErr)
		return c.writeError(502, "ripcord: upstream unavailable\n", rq) && !rq.hasBody()
	}
	keep := !rq.closeAfter && !c.srv.closing.Load()
	x.sigVals, x.sigHave = c.s.scanSignals(lines)
	c.writeResponseHead(line, lines, &rh, keep)
	up.br.Discard(x.headLen)
	return c.finish(x, &rh, keep)
}

// writeResponseHead writes the status line, the upstream's end-to-end header
// lines and the framing the client gets.
func (c *h1conn) writeResponseHead(status, lines []byte, rh *respHead, keep bool) {
	bw := c.bw
	bw.WriteString("HTTP/1.1")
	bw.Write(status[8:])
	bw.WriteString("\r\n")
	writeResponseLines(bw, lines, rh.connVals)
	switch {
	case rh.length >= 0: // for HEAD, 204 and 304 too: it describes the resource
		writeLength(bw, rh.length)
	case !rh.noBody:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}

// finish relays the body, records the outcome and hands the answer's tail
// to the deferred flush. It reports whether the client connection may carry
// another request.
func (c *h1conn) finish(x *exchange, rh *respHead, keep bool) bool {
	up, bw := x.up, c.bw
	rerr, werr := c.firstByte(x, rh)
	if rerr == nil && werr == nil {
		var sc *sseScan
		if rh.sse {
			sc = &x.sse
		}
		if c.capture > 0 {
			x.sse.capLimit, x.sse.noScan, sc = c.capture, !rh.sse, &x.sse
		}
		rerr, werr = c.relayBody(up, rh, sc)
	}
	switch {
	case rerr != nil:
		x.v.up.h1.discard(up)
		if !up.cut.Load() { // a drain's cut is not the version's fault
			c.s.complete(x.v, &x.fl, outcomeConnErr)
			c.s.log.Debug("proxy upstream body failed", "version", x.v.name, "err", rerr)
		}
		bw.Flush()
		return false // the client sees a truncated body
	case werr != nil:
		x.v.up.h1.discard(up)
		return false // client gone: not the version's fault
	}
	// The body is relayed (its tail at most is still in bw): record now, so
	// the statistics never lag behind what the client has seen.
	o := answered(x.status, x.sse.failed)
	x.relayed = true
	end := c.s.complete(x.v, &x.fl, o)
	if x.sigVals != nil && x.v.sig != nil {
		x.v.sig.record(end, x.sigVals, x.sigHave)
	}
	x.v.up.h1.release(up, rh.reusable, end)
	switch {
	case !keep:
		bw.Flush()
		return false
	case c.br.Buffered() == 0:
		c.bw = nil                                  // handed to the deferred flush, which returns it to the pool
		return c.io.flushDeferredRelease(bw) == nil // goes out as the next request is awaited
	}
	return true // a pipelined request is waiting: this answer leaves with its own
}

// firstByte waits for the answer's first body byte (flushing the head to
// the client first, as the relay would), for its time to first byte; it
// notes whether the answer is a stream, whose latency is time to head.
func (c *h1conn) firstByte(x *exchange, rh *respHead) (readErr, writeErr error) {
	x.fl.stream = rh.sse || (!rh.noBody && rh.length < 0)
	if rh.noBody || rh.length == 0 || x.up.br.Buffered() > 0 {
		x.fl.first = x.fl.head // it came with the head
		return nil, nil
	}
	if readErr, writeErr = await(c.bw, x.up.br); readErr == nil && writeErr == nil {
		x.fl.first = c.s.now()
	}
	if readErr == io.EOF {
		readErr = io.ErrUnexpectedEOF // the relay would see the same
		if rh.length < 0 && !rh.chunked {
			readErr = nil // closing is how this body ends: an empty one
		}
	}
	return readErr, writeErr
}

// respHead is the framing of an upstream response.
type respHead struct {
	length   int64 // Content-Length, -1 if none
	chunked  bool
	sse      bool // Content-Type: text/event-stream
	noBody   bool // HEAD, 1xx, 204, 304
	reusable bool // the upstream connection may serve another request
	connVals [][]byte
}

// scanResponse reads the framing headers of a response.
func scanResponse(lines []byte, x *exchange, rq *reqHead) (rh respHead, ok bool) {
	rh.length, rh.reusable = -1, x.http11
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		name, val, ok := splitHeader(hl)
		if !ok {
			return rh, false
		}
		switch kindOf(name) {
		case hConnection:
			closeConn, names := connTokens(val)
			if closeConn {
				rh.reusable = false
			}
			if names {
				rh.connVals = append(rh.connVals, val)
			}
		case hContentLength:
			n := parseLength(val)
			if n < 0 || (rh.length >= 0 && n != rh.length) {
				return rh, false
			}
			rh.length = n
		case hTransferEncoding:
			if !isChunked(val) || rh.chunked {
				return rh, false
			}
			rh.chunked = true
		case hContentType:
			rh.sse = isEventStream(val)
		}
	}
	rh.noBody = string(rq.method) == "HEAD" || x.status == 204 || x.status == 304 || x.status < 200
	if rh.noBody && (rh.chunked || rh.length > 0) {
		// Framed for a body it must not have: if the backend sends one
		// anyway (a HEAD answered like a GET), those bytes would be the
		// next request's answer. The connection is not reused.
		rh.reusable = false
	}
	if rh.chunked {
		rh.length = -1 // chunked wins over a Content-Length (RFC 9112 §6.3)
	}
	if !rh.noBody && !rh.chunked && rh.length < 0 {
		rh.reusable = false // delimited by the upstream closing
	}
	return rh, true
}

// writeResponseLines copies the upstream header lines minus hop-by-hop and
// framing ones (the caller writes its own framing).
func writeResponseLines(bw *bufio.Writer, lines []byte, connVals [][]byte) {
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		name := headerName(hl)
		switch kindOf(name) {
		case hHop, hConnection, hContentLength, hTransferEncoding, hUpgrade, hTe:
			continue
		}
		if connVals != nil && namedBy(connVals, name) {
			continue
		}
		bw.Write(hl)
		bw.WriteString("\r\n")
	}
}

func writeLength(bw *bufio.Writer, n int64) {
	bw.WriteString("Content-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, 10)) // no allocation
	bw.WriteString("\r\n")
}

// relayBody copies the response body to the client; sc, if set, watches
// an event stream's bytes for an error event.
func (c *h1conn) relayBody(up *upConn, rh *respHead, sc *sseScan) (readErr, writeErr error) {
	switch {
	case rh.noBody:
		return nil, nil
	case rh.chunked:
		return relayChunkedScan(c.bw, up.br, true, sc)
	case rh.length >= 0:
		return relayFixedScan(c.bw, up.br, rh.length, sc)
	default:
		return relayToEOF(c.bw, up.br, sc)
	}
}

// isEventStream reports whether a Content-Type value is text/event-stream
// (parameters and case aside).
func isEventStream(v []byte) bool {
	const want = "text/event-stream"
	v = trimOWS(v)
	if len(v) < len(want) || !eqFold(v[:len(want)], want) {
		return false
	}
	rest := trimOWS(v[len(want):])
	return len(rest) == 0 || rest[0] == ';'
}

// writeError answers the client directly. It reports whether the write
// succeeded.
func (c *h1conn) writeError(code int, msg string, rq *reqHead) bool {
	bw := c.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(code))
	bw.WriteByte(' ')
	bw.WriteString(statusText(code))
	bw.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n")
	writeLength(bw, int64(len(msg)))
	if rq.closeAfter || rq.hasBody() {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if !bytes.Equal(rq.method, []byte("HEAD")) {
		bw.WriteString(msg)
	}
	return bw.Flush() == nil && !rq.closeAfter
}

func statusText(code int) string {
	switch code {
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	}
	return "Error"
}

// framesBody reports whether a head has Content-Length other than 0 or a
// Transfer-Encoding.
func framesBody(head []byte) bool {
	_, lines := nextLine(head)
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		name, val, ok := splitHeader(hl)
		switch k := kindOf(name); {
		case !ok:
			return true
		case k == hTransferEncoding, k == hContentLength && parseLength(val) != 0:
			return true
		}
	}
	return false
}
