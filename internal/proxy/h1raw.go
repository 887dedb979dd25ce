package proxy

import (
	"bufio"
	"io"
	"net"
	"sync"
	"syscall"
	"unsafe"
)

// Deferred flushes.
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
	d := &deferConn{nc: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		d.rc, _ = sc.SyscallConn()
	}
	d.cbFunc = d.rawStep
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

// writeThenRead writes d.pending and reads into p after waiting for
// readiness. off is how much of pending went out; n == 0 with a nil error
// means "not done, carry on with plain calls".
func (d *deferConn) writeThenRead(p []byte) (off, n int, err error) {
	d.cb.p, d.cb.off, d.cb.n, d.cb.err, d.cb.waited = p, 0, 0, nil, false
	rerr := d.rc.Read(d.cbFunc)
	off, n, err = d.cb.off, d.cb.n, d.cb.err
	d.cb.p = nil
	if err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		off = min(off, len(d.pending))
	}
	return off, n, err
}

// rawStep is writeThenRead's RawConn callback. Its state lives in d.cb and
// the func value is made once per connection: a closure per call would be
// two allocations per request.
func (d *deferConn) rawStep(fd uintptr) bool {
	cb := &d.cb
	for cb.off < len(d.pending) {
		m, werr := rawWrite(fd, d.pending[cb.off:])
		switch {
		case werr == syscall.EINTR:
			continue
		case werr == syscall.EAGAIN:
			return true
		case werr != nil:
			cb.err = &net.OpError{Op: "write", Net: "tcp", Err: werr}
			return true
		}
		cb.off += m
	}
	if !cb.waited && cb.off == len(d.pending) && cb.off > 0 {
		d.sent() // written: the buffer can serve another connection while this one waits
		cb.off = 0
	}
	if !cb.waited {
		cb.waited = true
		return false // wait for readiness, no speculative read
	}
	m, rerr := rawRead(fd, cb.p)
	switch {
	case rerr == syscall.EINTR || rerr == syscall.EAGAIN:
		return false
	case rerr != nil:
		cb.err = &net.OpError{Op: "read", Net: "tcp", Err: rerr}
	case m == 0:
		cb.err = io.EOF
	default:
		cb.n = m
	}
	return true
}

// rawWrite and rawRead are write(2) and read(2) on a non-blocking socket
// without telling the scheduler: they cannot block, and a P marked "in
// syscall" is what makes sysmon wake up every 20 us and hand the P to
// another thread whenever the kernel preempts this one on the way back,
// which on a busy machine it often does (perf: 13% of the switch's CPU
// went to sysmon's wake-ups and thread switches).
func rawWrite(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawRead(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
