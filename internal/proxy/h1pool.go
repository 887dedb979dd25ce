package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// upConn is one HTTP/1.1 keep-alive connection to a version, used by one
// request at a time, synchronously, on the client connection's goroutine:
// no reader or writer goroutines and no channels between them.
type upConn struct {
	nc     net.Conn
	io     *deferConn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time // when it was last put back in the pool
	reused bool      // it served a request before the current one
}

// h1pool holds a version's idle upstream connections, newest on top. The
// mutex is the version's own and is held for a slice push or pop only.
type h1pool struct {
	addr     string
	dialer   net.Dialer
	draining atomic.Bool // not active: close connections instead of keeping them

	mu   sync.Mutex
	idle []*upConn
}

const (
	maxIdlePerVersion = 256
	upReadBuf         = 32 << 10
	upWriteBuf        = 8 << 10
	// idleCheckAfter: a connection idle for longer is probed (one
	// non-blocking peek) before reuse, in case the upstream closed it.
	idleCheckAfter = time.Second
	// idleMax: connections idle for longer are not reused at all.
	idleMax = 30 * time.Second
)

func newH1Pool(addr string) *h1pool {
	p := &h1pool{addr: addr, dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}
	p.draining.Store(true)
	return p
}

// get returns an idle connection or dials a new one.
func (p *h1pool) get(ctx context.Context, now time.Time) (*upConn, error) {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idle := now.Sub(c.idleAt)
		if idle < idleCheckAfter || (idle < idleMax && c.alive()) {
			c.reused = true
			return c, nil
		}
		c.nc.Close()
	}
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	d := newDeferConn(nc)
	return &upConn{nc: nc, io: d, br: bufio.NewReaderSize(d, upReadBuf), bw: bufio.NewWriterSize(d, upWriteBuf)}, nil
}

// put returns a connection whose exchange completed cleanly.
func (p *h1pool) put(c *upConn, now time.Time) {
	if p.draining.Load() || c.br.Buffered() > 0 {
		c.nc.Close()
		return
	}
	c.idleAt = now
	p.mu.Lock()
	if len(p.idle) < maxIdlePerVersion && !p.draining.Load() {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.nc.Close()
}

// drain marks the pool draining and closes its idle connections; busy ones
// are closed by put when their request ends.
func (p *h1pool) drain() {
	p.draining.Store(true)
	p.closeIdle()
}

func (p *h1pool) undrain() { p.draining.Store(false) }

func (p *h1pool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// alive probes an idle connection without blocking: the upstream must not
// have closed it or sent anything unasked.
func (c *upConn) alive() bool {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	rerr := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = errors.Is(err, syscall.EAGAIN) // not EOF, not data, not an error
		return true
	})
	return rerr == nil && alive
}

// isTimeout reports a deadline or timeout, as opposed to a refusal or reset.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isEOF reports an orderly or abrupt close by the peer.
func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
