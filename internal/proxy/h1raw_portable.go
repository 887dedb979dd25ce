//go:build !linux || ripcord_portable

package proxy

import (
	"net"
	"syscall"
)

// The portable build (every OS but Linux, or Linux with the build tag
// ripcord_portable): no deferred flushes, so a proxied request costs one
// speculative read more on each side; an idle upstream connection is probed
// with a short read deadline instead of a non-blocking peek.

// rawSyscalls says which build this is (tests and logs).
const rawSyscalls = false

func rawConnOf(net.Conn) syscall.RawConn { return nil }

// writeThenRead is never called: deferConn has no RawConn here.
func (d *deferConn) writeThenRead([]byte) (off, n int, err error) {
	panic("proxy: deferred flush without raw syscalls")
}

func (d *deferConn) rawStep(uintptr) bool { return true }

func (c *upConn) probe() (unsolicited int, closed bool) { return c.probeDeadline() }

func (c *upConn) peekStep(uintptr) {}
