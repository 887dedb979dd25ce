//go:build linux && !ripcord_portable

package proxy

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// The Linux fast path: deferred flushes written from inside RawConn.Read's
// callback (h1defer.go) and a non-blocking peek at idle upstream
// connections, both with raw syscalls. The build tag ripcord_portable, and
// every other OS, selects h1raw_portable.go instead.

// rawSyscalls says which build this is (tests and logs).
const rawSyscalls = true

// rawConnOf returns nc's RawConn, nil if it has none (then reads and writes
// are plain).
func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
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

// probe looks at an idle upstream connection without blocking: a
// recv(MSG_PEEK|MSG_DONTWAIT) into c.peek. It reports how many bytes the
// upstream sent unasked (0: none) and whether it closed the connection.
func (c *upConn) probe() (unsolicited int, closed bool) {
	if c.io.rc == nil {
		return c.probeDeadline()
	}
	if err := c.io.rc.Control(c.probeFn); err != nil {
		return 0, true
	}
	return c.peekN, c.peekClosed
}

// peekStep is probe's Control callback, bound once per connection.
func (c *upConn) peekStep(fd uintptr) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peek[0])), uintptr(len(c.peek)),
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	switch {
	case e == syscall.EAGAIN:
		c.peekN, c.peekClosed = 0, false
	case e != 0 || n == 0: // reset, or an orderly close (EOF)
		c.peekN, c.peekClosed = 0, true
	default:
		c.peekN, c.peekClosed = int(n), false
		// How much is waiting, not just what fits in the peek buffer.
		var queued int32
		if _, _, e := syscall.RawSyscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&queued))); e == 0 && int(queued) > c.peekN {
			c.peekN = int(queued)
		}
	}
}
