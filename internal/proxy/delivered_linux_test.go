package proxy

import (
	"net"
	"syscall"
	"testing"
	"unsafe"
)

// waitDelivered waits until the peer's kernel acknowledged everything nc
// wrote (SIOCOUTQ = 0), or the peer closed the connection, so a test can
// rely on the bytes being readable at the other end (if it still reads)
// rather than still on the way.
func waitDelivered(t *testing.T, nc net.Conn) {
	t.Helper()
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bytes acknowledged by the switch's kernel", func() bool {
		var queued int32
		peerGone := false
		rc.Control(func(fd uintptr) {
			if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&queued))); e != 0 {
				peerGone = true
			}
			var b [1]byte
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			peerGone = peerGone || (err == nil && n == 0) || err == syscall.ECONNRESET
		})
		return queued == 0 || peerGone
	})
}
