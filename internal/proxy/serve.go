package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Serve serves HTTP/1.1 and h2c (HTTP/2 with prior knowledge, no TLS) on ln
// until ctx is cancelled, then shuts down gracefully: the listener closes at
// once, idle client connections are closed, and in-flight requests, long
// streams included, may finish for up to Options.DrainTimeout before the
// remaining connections are cut.
//
// HTTP/1.1 connections take the fast path (h1conn); everything else, h2c
// included, is handed to a net/http server running ServeHTTP.
func (s *Switch) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.newH1Server(ctx, ln.Addr())
	go srv.hs.Serve(srv.hl)
	errc := make(chan error, 1)
	go func() { errc <- srv.accept(ln) }()
	var err error
	select {
	case err = <-errc:
		err = fmt.Errorf("proxy %s: serve: %w", s.opts.Service, err)
	case <-ctx.Done():
	}
	ln.Close()
	s.log.Info("proxy draining", "timeout", s.opts.DrainTimeout)
	if derr := srv.shutdown(s.opts.DrainTimeout); derr != nil && err == nil {
		err = fmt.Errorf("proxy %s: drain: %w", s.opts.Service, derr)
	}
	return err
}

// newH1Server returns the fast path's connection tracker with the net/http
// server it hands connections to.
func (s *Switch) newH1Server(ctx context.Context, addr net.Addr) *h1server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &h1server{
		s:     s,
		ctx:   context.WithoutCancel(ctx),
		conns: map[*h1conn]struct{}{},
		hl:    &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})},
	}
	srv.handoffTo = srv.handoff
	srv.hs = &http.Server{
		Handler:           s,
		Protocols:         &protos,
		ReadHeaderTimeout: s.opts.HeaderTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return srv
}

// h1server tracks the fast-path connections of one Serve call.
type h1server struct {
	s       *Switch
	ctx     context.Context // for upstream dials; never cancelled by Serve's ctx
	hs      *http.Server
	hl      *chanListener
	closing atomic.Bool
	// open counts client connections, the fast path's and those handed to
	// net/http (until they close), against Options.MaxConns.
	open      atomic.Int64
	handoffTo func(net.Conn) // srv.handoff; the differential fuzz records instead

	mu    sync.Mutex // guards conns; taken per connection, not per request
	conns map[*h1conn]struct{}
	wg    sync.WaitGroup
}

func (srv *h1server) accept(ln net.Listener) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if srv.closing.Load() || errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors and the like: back off, as net/http does.
			delay = max(5*time.Millisecond, min(2*delay, time.Second))
			srv.s.log.Warn("proxy accept", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if srv.open.Add(1) > int64(srv.s.opts.MaxConns) {
			srv.open.Add(-1)
			go refuse(nc)
			continue
		}
		c := srv.newConn(nc)
		srv.mu.Lock()
		if srv.closing.Load() {
			srv.mu.Unlock()
			srv.open.Add(-1)
			nc.Close()
			return net.ErrClosed
		}
		srv.conns[c] = struct{}{}
		srv.wg.Add(1)
		srv.mu.Unlock()
		go c.serve()
	}
}

// newConn sets up a client connection: its buffers, its address and
// whether it is a trusted proxy, and the header deadline of its first
// request (net/http's ReadHeaderTimeout also runs from accept).
func (srv *h1server) newConn(nc net.Conn) *h1conn {
	d := newDeferConn(nc)
	c := &h1conn{s: srv.s, srv: srv, nc: nc, io: d, br: bufio.NewReaderSize(d, clientReadBuf)}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.ip = ap.Addr().Unmap().String()
		c.trusted = srv.s.opts.trusted(ap.Addr())
	} else if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.ip = host
	}
	c.setDeadline(dlHeader, time.Now().Add(srv.s.opts.HeaderTimeout))
	return c
}

// refuse answers a connection over Options.MaxConns with 503 and closes
// it. It reads what the client sent meanwhile, briefly, so that the close
// does not reset the connection before the client has read the answer.
func refuse(nc net.Conn) {
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Second))
	io.WriteString(nc, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Connection: close\r\nContent-Length: 36\r\n\r\nripcord: too many open connections\r\n")
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
}

func (srv *h1server) forget(c *h1conn) {
	srv.mu.Lock()
	delete(srv.conns, c)
	srv.mu.Unlock()
	if !c.handedOff {
		srv.open.Add(-1) // a handed-off connection counts until it closes
	}
	srv.wg.Done()
}

// handoff passes a connection to the net/http server.
func (srv *h1server) handoff(nc net.Conn) {
	select {
	case srv.hl.ch <- nc:
	case <-srv.hl.done:
		nc.Close()
	}
}

// shutdown closes idle connections, lets busy ones finish their request
// (each closes after it), and cuts whatever remains after timeout.
func (srv *h1server) shutdown(timeout time.Duration) error {
	srv.s.closeTunnels()
	srv.mu.Lock()
	srv.closing.Store(true)
	for c := range srv.conns {
		if c.state.CompareAndSwap(connIdle, connClosing) {
			c.nc.SetReadDeadline(time.Now()) // wakes the blocked head read
		}
	}
	srv.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	h2done := make(chan error, 1)
	go func() { h2done <- srv.hs.Shutdown(ctx) }()
	h1done := make(chan struct{})
	go func() { srv.wg.Wait(); close(h1done) }()

	var err error
	select {
	case <-h1done:
	case <-ctx.Done():
		err = ctx.Err()
		srv.mu.Lock()
		for c := range srv.conns {
			c.nc.Close()
		}
		srv.mu.Unlock()
		// A fast-path goroutine waiting on an upstream's answer does not
		// notice its client going: cut its upstream connection too.
		srv.s.cutInFlight()
		<-h1done
	}
	if herr := <-h2done; herr != nil {
		srv.hs.Close()
		if err == nil {
			err = herr
		}
	}
	return err
}

// chanListener feeds handed-off connections to the net/http server.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
