package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &h1server{
		s:     s,
		ctx:   context.WithoutCancel(ctx),
		conns: map[*h1conn]struct{}{},
		hl:    &chanListener{addr: ln.Addr(), ch: make(chan net.Conn), done: make(chan struct{})},
	}
	srv.hs = &http.Server{
		Handler:           s,
		Protocols:         &protos,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
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

// h1server tracks the fast-path connections of one Serve call.
type h1server struct {
	s       *Switch
	ctx     context.Context // for upstream dials; never cancelled by Serve's ctx
	hs      *http.Server
	hl      *chanListener
	closing atomic.Bool

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
		d := newDeferConn(nc)
		c := &h1conn{s: srv.s, srv: srv, nc: nc, io: d,
			br: bufio.NewReaderSize(d, clientReadBuf)}
		if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
			c.ip = host
		}
		srv.mu.Lock()
		if srv.closing.Load() {
			srv.mu.Unlock()
			nc.Close()
			return net.ErrClosed
		}
		srv.conns[c] = struct{}{}
		srv.wg.Add(1)
		srv.mu.Unlock()
		go c.serve()
	}
}

func (srv *h1server) forget(c *h1conn) {
	srv.mu.Lock()
	delete(srv.conns, c)
	srv.mu.Unlock()
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
