package prometheus_bench

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

const (
	modePass int32 = iota
	modeRefuse
	modeHang
)

// forwarder relays TCP to Prometheus, or refuses, or hangs.
type forwarder struct {
	ln     net.Listener
	target string
	mode   atomic.Int32
	mu     sync.Mutex
	conns  []net.Conn
}

func newForwarder(t *testing.T, target string) *forwarder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln, target: target}
	go f.serve()
	t.Cleanup(func() { ln.Close(); f.set(modePass) })
	return f
}

func (f *forwarder) addr() string { return f.ln.Addr().String() }

func (f *forwarder) set(mode int32) {
	f.mode.Store(mode)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		switch f.mode.Load() {
		case modeRefuse:
			c.Close()
		case modeHang:
		default:
			go func() {
				up, err := net.Dial("tcp", f.target)
				if err != nil {
					c.Close()
					return
				}
				go func() { _, _ = io.Copy(up, c); up.Close() }()
				_, _ = io.Copy(c, up)
				c.Close()
			}()
		}
	}
}
