package proxy

import (
	"bufio"
	"bytes"
	"io"
	"time"
)

// exchange is one attempt of a request on one version.
type exchange struct {
	v       *version
	start   time.Time
	up      *upConn // nil if none could be had
	status  int
	headLen int  // of the response head, still buffered in up.br
	http11  bool // the upstream spoke HTTP/1.1
	err     error
	// clientErr marks err as the client's doing (its request body broke):
	// nothing is recorded for the version then.
	clientErr bool
	// sigVals/sigHave are the configured signal headers of the answer.
	sigVals []float64
	sigHave []bool
	// fl is the attempt's place in the version's evidence; sse watches an
	// event stream for an error event.
	fl  flight
	sse sseScan
	// relayed: the answer reached the client whole (a shadow copy may
	// compare with it).
	relayed bool
}

func (x *exchange) failed() bool { return x.err != nil || x.status >= 500 }

// cut reports that a drain closed the upstream connection under it.
func (x *exchange) cut() bool { return x.up != nil && x.up.cut.Load() }

// proxy serves one request on the fast path. It reports whether the client
// connection may carry another request.
func (c *h1conn) proxy(rq *reqHead) bool {
	s := c.s
	v := c.routeH1()
	if v == nil {
		return c.writeError(503, "ripcord: no active version\n", rq) && !rq.hasBody()
	}
	var fb *version
	if s.opts.Retry.Enabled && retryableMethod(string(rq.method), s.opts.Retry.NonIdempotent) {
		fb = s.fallbackFor(v)
	}
	run := s.shadowBegin(v, rq.method, rq.length, rq.chunked)
	buffered := false
	if rq.hasBody() {
		c.bodyReads(true)
		if fb != nil && rq.length > s.opts.Retry.MaxBodyBytes {
			fb = nil // too large to keep: one attempt only
		}
		if fb != nil || run != nil { // a copy's body is small (Shadow.MaxBody)
			if err := c.readBody(rq.length); err != nil {
				if run != nil {
					run.release()
				}
				return false // the client's body broke: nothing to forward
			}
			buffered = true
		}
	}
	var job *shadowJob
	if run != nil {
		job = c.shadowJob(rq, buffered)
	}
	c.xs = [2]exchange{}
	c.capture = 0
	if run.capturing() {
		c.capture = run.opts.CaptureBytes
	}
	x := c.attempt(v, rq, buffered)
	if fb != nil && x.failed() && !x.clientErr && !x.cut() {
		c.recordFailure(x)
		s.log.Debug("proxy retrying on fallback", "version", v.name, "fallback", fb.name, "status", x.status, "err", x.err)
		x = c.attempt(fb, rq, buffered)
	}
	if rq.hasBody() {
		c.bodyReads(false)
	}
	ok := c.respond(x, rq)
	c.xs[0].fl.release() // whatever path the answer took, it waits no more
	c.xs[1].fl.release()
	if run != nil {
		if x.relayed {
			job.liveStatus, job.liveBody, job.liveCut = x.status, x.sse.captured, x.sse.capCut
		}
		// The answer's tail leaves now rather than with the next read, so
		// queueing the copy (which wakes a worker) never delays it.
		if c.io.writePending() != nil {
			ok = false
		}
		run.submit(job)
	}
	return ok
}

// readBody keeps a request body of n bytes in c.body.
func (c *h1conn) readBody(n int64) error {
	if int64(cap(c.body)) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	_, err := io.ReadFull(c.br, c.body)
	return err
}

// attempt sends the request to v and reads the response head.
func (c *h1conn) attempt(v *version, rq *reqHead, buffered bool) *exchange {
	x := &c.xs[0] // scratch: the connection serves one request at a time
	if x.v != nil {
		x = &c.xs[1] // the retry; the first attempt stays intact
	}
	*x = exchange{v: v, start: c.s.now()}
	x.fl = v.stats.begin(x.start)
	for try := 0; ; try++ {
		x.up, x.err = v.up.h1.get(c.srv.ctx, x.start)
		if x.err != nil {
			return x
		}
		var sent bool
		sent, x.clientErr, x.err = c.send(x.up, v, rq, buffered)
		if x.err == nil {
			x.err = c.awaitResponseHead(x)
		}
		// A reused connection the upstream closed while idle: the request
		// was not answered; a bodiless one is sent once more on a fresh
		// connection (a body is never sent twice to one version).
		if x.err != nil && x.up.reused && try == 0 && isEOF(x.err) && !sent && !x.clientErr && !x.cut() {
			v.up.h1.discard(x.up)
			continue
		}
		return x
	}
}

// send writes the request to up. sent reports that a body went out.
func (c *h1conn) send(up *upConn, v *version, rq *reqHead, buffered bool) (sent, clientErr bool, err error) {
	bw := up.bw
	bw.Write(rq.method)
	bw.WriteByte(' ')
	bw.WriteString(v.path)
	writeTarget(bw, rq.target, v.query)
	bw.WriteString(" HTTP/1.1\r\n")
	bw.Write(c.hdr)
	if v.auth != "" && !c.hasAuth {
		bw.WriteString("Authorization: ")
		bw.WriteString(v.auth)
		bw.WriteString("\r\n")
	}
	switch {
	case buffered:
		writeLength(bw, int64(len(c.body)))
		bw.WriteString("\r\n")
		bw.Write(c.body)
		sent = len(c.body) > 0
	case rq.length >= 0:
		writeLength(bw, rq.length)
		bw.WriteString("\r\n")
		rerr, werr := relayFixed(bw, c.br, rq.length)
		if rerr != nil {
			return true, true, rerr
		}
		if werr != nil {
			return true, false, werr
		}
		sent = rq.length > 0
	case rq.chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		rerr, werr := relayChunked(bw, c.br, false)
		if rerr != nil {
			return true, true, rerr
		}
		if werr != nil {
			return true, false, werr
		}
		sent = true
	default:
		bw.WriteString("\r\n")
	}
	return sent, false, up.io.flushDeferred(bw)
}

// awaitResponseHead is readResponseHead within Options.ResponseTimeout.
func (c *h1conn) awaitResponseHead(x *exchange) error {
	d := c.s.opts.ResponseTimeout
	if d > 0 {
		x.up.nc.SetReadDeadline(x.start.Add(d))
	}
	err := readResponseHead(x)
	if err == nil {
		x.fl.headAt(c.s.now())
		if d > 0 {
			x.up.nc.SetReadDeadline(time.Time{}) // the body may stream for as long as it likes
		}
	}
	return err
}

// readResponseHead reads up to a final (non-1xx) response head, which stays
// buffered in x.up.br.
func readResponseHead(x *exchange) error {
	for {
		head, err := peekHead(x.up.br)
		if err != nil {
			return err
		}
		line, _ := nextLine(head)
		if x.status, x.http11, err = parseStatus(line); err != nil {
			return err
		}
		if x.status == 101 {
			return errMalformed // the fast path never asks to switch protocols
		}
		if x.status >= 200 {
			x.headLen = len(head)
			return nil
		}
		// 100 Continue, 103 Early Hints: dropped. They cannot have a body,
		// so one framed for a body is a backend out of step.
		if framesBody(head) {
			return errMalformed
		}
		x.up.br.Discard(len(head))
	}
}

// recordFailure records a failed attempt that will be retried elsewhere.
func (c *h1conn) recordFailure(x *exchange) {
	o := outcome5xx
	if x.err != nil {
		o = outcomeConnErr
	}
	c.s.complete(x.v, &x.fl, o)
	if x.up != nil {
		x.v.up.h1.discard(x.up)
	}
}

// writeTarget writes the request target with the version URL's query put
// before the request's own, as the net/http path's joinQuery does.
func writeTarget(bw *bufio.Writer, target []byte, query string) {
	if query == "" {
		bw.Write(target)
		return
	}
	i := bytes.IndexByte(target, '?')
	switch {
	case i < 0:
		bw.Write(target)
		bw.WriteByte('?')
		bw.WriteString(query)
	case i == len(target)-1:
		bw.Write(target)
		bw.WriteString(query)
	default:
		bw.Write(target[:i+1])
		bw.WriteString(query)
		bw.WriteByte('&')
		bw.Write(target[i+1:])
	}
}
