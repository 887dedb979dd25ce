package proxy

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// A copy made on the fast path is sent the way the fast path sends: its
// raw header lines over the shadow version's pooled HTTP/1.1 connections,
// the answer's head parsed in place and its body read into a discarding
// writer. This costs a fraction of a net/http Transport round trip (no
// header map, no reader and writer goroutines per connection), which
// matters because the workers share the process's CPUs with live traffic.

// discardWriters are bufio.Writers over io.Discard for copies' bodies.
var discardWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, 4<<10) }}

// sendCopyH1 sends a fast-path copy and records its answer with the rules
// of sendCopy.
func (s *Switch) sendCopyH1(run *shadowRun, j *shadowJob) {
	v := run.v
	x := &exchange{v: v, start: s.now()}
	x.fl = v.stats.begin(x.start)
	defer x.fl.release()
	rq := &reqHead{method: []byte(j.method), length: int64(len(j.body))}
	for try := 0; ; try++ {
		x.up, x.err = v.up.h1.get(run.ctx, x.start)
		if x.err != nil {
			break
		}
		x.err = s.writeCopy(x.up, v, j)
		if x.err == nil {
			x.err = s.awaitCopyHead(x)
		}
		// A reused connection the version closed while idle: sent once more
		// on a fresh one, as a live request is (the copy's body, if any,
		// did not reach an answer).
		if x.err != nil && x.up.reused && try == 0 && isEOF(x.err) && !x.cut() {
			v.up.h1.discard(x.up)
			continue
		}
		break
	}
	if x.err != nil {
		if x.up != nil {
			v.up.h1.discard(x.up)
		}
		if run.ctx.Err() == nil && !x.cut() {
			run.sent.Add(1)
			s.complete(v, &x.fl, outcomeConnErr)
		}
		return
	}
	up := x.up
	head, _ := up.br.Peek(x.headLen)
	_, lines := nextLine(head)
	rh, ok := scanResponse(lines, x, rq)
	if !ok {
		v.up.h1.discard(up)
		run.sent.Add(1)
		s.complete(v, &x.fl, outcomeConnErr)
		return
	}
	sigVals, sigHave := s.scanSignals(lines)
	up.br.Discard(x.headLen)
	x.fl.stream = rh.sse || (!rh.noBody && rh.length < 0)
	x.sse = sseScan{noScan: !rh.sse}
	if run.capturing() {
		x.sse.capLimit = run.opts.CaptureBytes
	}
	bw := discardWriters.Get().(*bufio.Writer)
	x.fl.first = x.fl.head
	if !rh.noBody && rh.length != 0 && up.br.Buffered() == 0 {
		if _, err := up.br.Peek(1); err == nil {
			x.fl.first = s.now()
		}
	}
	rerr, _ := relayCopyBody(bw, up, &rh, &x.sse)
	bw.Reset(io.Discard)
	discardWriters.Put(bw)
	if run.ctx.Err() != nil || up.cut.Load() {
		v.up.h1.discard(up)
		return // stopped or drained: a cut copy says nothing about the version
	}
	run.sent.Add(1)
	if rerr != nil {
		v.up.h1.discard(up)
		s.complete(v, &x.fl, outcomeConnErr)
		return
	}
	end := s.complete(v, &x.fl, answered(x.status, x.sse.failed))
	if sigVals != nil && v.sig != nil {
		v.sig.record(end, sigVals, sigHave)
	}
	v.up.h1.release(up, rh.reusable, end)
	s.compareCopy(run, j, x.status, x.sse.captured, x.sse.capCut)
}

// writeCopy writes the copy's request: the live request line and header
// lines as forwarded, the shadow mark, the version's credentials when the
// client sent none, and the body.
func (s *Switch) writeCopy(up *upConn, v *version, j *shadowJob) error {
	bw := up.bw
	bw.WriteString(j.method)
	bw.WriteByte(' ')
	bw.WriteString(v.path)
	writeTarget(bw, []byte(j.target), v.query)
	bw.WriteString(" HTTP/1.1\r\n")
	bw.Write(j.raw)
	bw.WriteString(ShadowHeader + ": 1\r\n")
	if v.auth != "" && !j.hasAuth {
		bw.WriteString("Authorization: ")
		bw.WriteString(v.auth)
		bw.WriteString("\r\n")
	}
	if len(j.body) > 0 {
		writeLength(bw, int64(len(j.body)))
	}
	bw.WriteString("\r\n")
	bw.Write(j.body)
	return bw.Flush()
}

// awaitCopyHead reads the answer's head within Options.ResponseTimeout.
func (s *Switch) awaitCopyHead(x *exchange) error {
	if d := s.opts.ResponseTimeout; d > 0 {
		x.up.nc.SetReadDeadline(x.start.Add(d))
	}
	err := readResponseHead(x)
	if err == nil {
		x.fl.headAt(s.now())
		if s.opts.ResponseTimeout > 0 {
			x.up.nc.SetReadDeadline(time.Time{})
		}
	}
	return err
}

// relayCopyBody reads a copy's answer body into dst (which discards it),
// showing it to sc (capture, SSE errors).
func relayCopyBody(dst *bufio.Writer, up *upConn, rh *respHead, sc *sseScan) (readErr, writeErr error) {
	switch {
	case rh.noBody:
		return nil, nil
	case rh.chunked:
		return relayChunkedScan(dst, up.br, true, sc)
	case rh.length >= 0:
		return relayFixedScan(dst, up.br, rh.length, sc)
	default:
		return relayToEOF(dst, up.br, sc)
	}
}
