package proxy

import (
	"bufio"
	"net"
	"sync"
	"syscall"
	"time"
)

// Deferred flushes (Linux; the portable build, see h1raw_portable.go, has
// none and reads and writes plainly).
//
// Go's netpoller reads speculatively: a Read first tries the syscall and
// waits for readiness only after EAGAIN. When the proxy has just sent a
// request upstream, or a complete response to a keep-alive client, the next
// read (the answer, or the next request) cannot have arrived yet, so that
// first read is a wasted syscall, two per proxied request. Instead the last
// flush is held back and written inside syscall.RawConn.Read's callback,
// which the runtime calls after resetting the poller's readiness: the
// callback writes, asks to wait, and reads once data has arrived. No
// readiness edge can be lost, because the reset precedes the write that
// provokes the data.

// deferConn is the sink and source of a connection's bufio pair.
type deferConn struct {
	nc      net.Conn
	rc      syscall.RawConn // nil: plain reads and writes
	capture bool            // the flush in progress is held in pending
	pending []byte          // bw's own buffer, not a copy: bw is left alone until it is written
	held    *bufio.Writer   // a pooled writer whose buffer pending is, released once written
	// progress, when set, is a deadline every Read must make progress
	// within: the read deadline is moved before each read (request bodies).
	progress time.Duration

	cbFunc func(fd uintptr) bool // d.rawStep, bound once
	cb     struct {
		p      []byte
		off, n int
		err    error
		waited bool
	}
}

// clientWriters are the client connections' write buffers. A connection
// holds one only while it serves a request, so idle keep-alive connections
// cost their 4 KiB read buffer and no more, while an answer of up to 32 KiB
// still leaves in one write.
var clientWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, clientWriteBuf) }}

func newDeferConn(nc net.Conn) *deferConn {
	d := &deferConn{nc: nc, rc: rawConnOf(nc)}
	if d.rc != nil {
		d.cbFunc = d.rawStep
	}
	return d
}

// maxDeferred bounds a held-back write; larger ones go out at once.
const maxDeferred = 32 << 10

// flushDeferred flushes bw (whose sink is d) at the next Read. The caller
// must not touch bw before that Read.
func (d *deferConn) flushDeferred(bw *bufio.Writer) error {
	if d.rc == nil || bw.Buffered() > maxDeferred {
		return bw.Flush()
	}
	d.capture = true
	err := bw.Flush()
	d.capture = false
	return err
}

// flushDeferredRelease is flushDeferred for a pooled writer, which goes back
// to clientWriters once its bytes are written.
func (d *deferConn) flushDeferredRelease(bw *bufio.Writer) error {
	err := d.flushDeferred(bw)
	if len(d.pending) > 0 {
		d.held = bw
	} else {
		releaseWriter(bw)
	}
	return err
}

func releaseWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	clientWriters.Put(bw)
}

// sent drops pending once written and releases its writer.
func (d *deferConn) sent() {
	d.pending = nil
	if d.held != nil {
		releaseWriter(d.held)
		d.held = nil
	}
}

// writePending sends a deferred flush that no Read will carry.
func (d *deferConn) writePending() error {
	if len(d.pending) == 0 {
		return nil
	}
	_, err := d.nc.Write(d.pending)
	d.sent()
	return err
}

func (d *deferConn) Write(p []byte) (int, error) {
	if d.capture {
		d.pending = p
		return len(p), nil
	}
	return d.nc.Write(p)
}

func (d *deferConn) Read(p []byte) (int, error) {
	if d.progress > 0 {
		d.nc.SetReadDeadline(time.Now().Add(d.progress))
	}
	if len(d.pending) == 0 {
		return d.nc.Read(p)
	}
	off, n, err := d.writeThenRead(p)
	if rest := d.pending[off:]; len(rest) > 0 {
		// Socket buffer full, or the read ended early (a deadline): the
		// write still completes, with the poller's help.
		_, werr := d.nc.Write(rest)
		d.sent()
		if werr != nil {
			return 0, werr
		}
	}
	d.sent()
	if err != nil || n > 0 {
		return n, err
	}
	return d.nc.Read(p)
}
