package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve serves HTTP/1.1 and h2c (HTTP/2 with prior knowledge, no TLS) on ln
// until ctx is cancelled, then shuts down gracefully: the listener closes at
// once, idle client connections are closed, and in-flight requests, long
// streams included, may finish for up to Options.DrainTimeout before the
// remaining connections are cut.
func (s *Switch) Serve(ctx context.Context, ln net.Listener) error {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s,
		Protocols:         &protos,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("proxy %s: serve: %w", s.opts.Service, err)
	case <-ctx.Done():
	}
	s.log.Info("proxy draining", "timeout", s.opts.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.DrainTimeout)
	defer cancel()
	err := srv.Shutdown(dctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("proxy %s: drain: %w", s.opts.Service, err)
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("proxy %s: serve: %w", s.opts.Service, serr)
	}
	return err
}
