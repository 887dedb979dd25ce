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

	// busySince is when the request it carries started (UnixNano), 0 while
	// idle; cut is set when a drain closed it under a request (h1drain.go).
	busySince atomic.Int64
	cut       atomic.Bool

	// probe's state (h1raw_*.go); probeFn is peekStep, bound once.
	probeFn    func(fd uintptr)
	peek       [64]byte
	peekN      int
	peekClosed bool
}

// h1pool holds a version's upstream connections: the idle ones, newest on
// top, and every live one, so a drain can reach those carrying a request.
// The mutex is the version's own and is held for a slice push or pop only.
type h1pool struct {
	addr     string
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	draining atomic.Bool // not active: close connections instead of keeping them
	// junk is told about bytes an idle connection received unasked.
	junk func(n int, start []byte)

	mu   sync.Mutex
	idle []*upConn
	live map[*upConn]struct{}
}

const (
	maxIdlePerVersion = 256
	upReadBuf         = 32 << 10
	upWriteBuf        = 8 << 10
	// idleMax: connections idle for longer are not reused at all.
	idleMax = 30 * time.Second
	// probeWait is how long the portable probe waits for bytes that are
	// not there (h1raw_portable.go); Linux peeks without waiting.
	probeWait = 100 * time.Microsecond
)

func newH1Pool(addr string, dial func(ctx context.Context, network, addr string) (net.Conn, error), junk func(int, []byte)) *h1pool {
	p := &h1pool{addr: addr, dial: dial, junk: junk, live: map[*upConn]struct{}{}}
	p.draining.Store(true)
	return p
}

// get returns an idle connection or dials a new one. Every idle connection
// is probed before reuse, whatever its age: one the upstream wrote to while
// nobody asked holds the start of an answer to no one, which would be read
// as this request's answer (another user's, typically).
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
		if now.Sub(c.idleAt) < idleMax {
			junk, closed := c.probe()
			if junk > 0 {
				p.junk(junk, c.peek[:min(junk, len(c.peek))])
			}
			if junk == 0 && !closed {
				c.reused = true
				c.busySince.Store(now.UnixNano())
				return c, nil
			}
		}
		p.discard(c)
	}
	nc, err := p.dial(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	d := newDeferConn(nc)
	c := &upConn{nc: nc, io: d, br: bufio.NewReaderSize(d, upReadBuf), bw: bufio.NewWriterSize(d, upWriteBuf)}
	c.probeFn = c.peekStep
	c.busySince.Store(now.UnixNano())
	p.mu.Lock()
	p.live[c] = struct{}{}
	p.mu.Unlock()
	return c, nil
}

// put returns a connection whose exchange completed cleanly. Bytes after
// the answer's end are an answer to no one: counted, and the connection
// closed.
func (p *h1pool) put(c *upConn, now time.Time) {
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(min(n, len(c.peek)))
		p.junk(n, b)
		p.discard(c)
		return
	}
	if p.draining.Load() || c.cut.Load() {
		p.discard(c)
		return
	}
	c.idleAt = now
	c.busySince.Store(0)
	p.mu.Lock()
	if len(p.idle) < maxIdlePerVersion && !p.draining.Load() {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.discard(c)
}

// release ends an exchange: the connection goes back to the pool if the
// answer allows it, and is closed otherwise.
func (p *h1pool) release(c *upConn, reusable bool, now time.Time) {
	if reusable {
		p.put(c, now)
		return
	}
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(min(n, len(c.peek)))
		p.junk(n, b)
	}
	p.discard(c)
}

// discard closes a connection for good.
func (p *h1pool) discard(c *upConn) {
	p.mu.Lock()
	delete(p.live, c)
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
	for _, c := range idle {
		delete(p.live, c)
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// cutBusy closes the connections carrying a request that started before
// t (UnixNano), marking them cut so the failure is not the version's.
func (p *h1pool) cutBusy(t int64) int {
	p.mu.Lock()
	var cut []*upConn
	for c := range p.live {
		if s := c.busySince.Load(); s != 0 && s < t {
			c.cut.Store(true)
			cut = append(cut, c)
		}
	}
	p.mu.Unlock()
	for _, c := range cut {
		c.nc.Close()
	}
	return len(cut)
}

// probeDeadline is the portable probe: a read with a deadline a moment
// ahead returns what is already there, EOF, or a timeout (nothing sent).
func (c *upConn) probeDeadline() (unsolicited int, closed bool) {
	if c.nc.SetReadDeadline(time.Now().Add(probeWait)) != nil {
		return 0, true
	}
	_, err := c.br.Peek(1)
	if c.nc.SetReadDeadline(time.Time{}) != nil {
		return 0, true
	}
	switch {
	case err == nil:
		n := c.br.Buffered()
		b, _ := c.br.Peek(min(n, len(c.peek)))
		copy(c.peek[:], b)
		return n, false
	case isTimeout(err):
		return 0, false
	}
	return 0, true
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
