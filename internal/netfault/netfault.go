// Package netfault is a TCP relay that can refuse or hang on command: the
// two ways a metrics server fails in production (a dead process refuses, an
// overloaded one accepts and never answers). Tests and benchmarks put it
// between ripcord and a real Prometheus to prove that a telemetry outage
// never causes a rollback.
package netfault

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Mode is what the relay does with connections.
type Mode int32

const (
	Pass   Mode = iota // relay to the target
	Refuse             // close at once
	Hang               // accept and never answer
)

// Forwarder relays a loopback listener to a target address.
type Forwarder struct {
	ln     net.Listener
	target string
	mode   atomic.Int32
	mu     sync.Mutex
	conns  []net.Conn
}

// New listens on a free loopback port and relays to target (host:port).
func New(target string) (*Forwarder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Forwarder{ln: ln, target: target}
	go f.serve()
	return f, nil
}

// Addr is the relay's host:port.
func (f *Forwarder) Addr() string { return f.ln.Addr().String() }

// Set changes the mode and cuts every open connection, so keep-alive
// clients meet the new mode on their next request.
func (f *Forwarder) Set(m Mode) {
	f.mode.Store(int32(m))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// Close stops the relay and cuts every connection.
func (f *Forwarder) Close() error {
	err := f.ln.Close()
	f.Set(Pass)
	return err
}

func (f *Forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		switch Mode(f.mode.Load()) {
		case Refuse:
			c.Close()
		case Hang: // keep it open, say nothing
		default:
			go f.relay(c)
		}
	}
}

func (f *Forwarder) relay(c net.Conn) {
	up, err := net.Dial("tcp", f.target)
	if err != nil {
		c.Close()
		return
	}
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}
