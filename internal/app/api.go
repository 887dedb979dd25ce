package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/localtoken"
)

// API server timeouts: a client gets 10 s to send its headers and an idle
// keep-alive connection is closed after 2 min, so slow or stalled clients
// cannot hold connections open.
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiIdleTimeout       = 2 * time.Minute
)

// localAdmin is the generated admin token of a daemon with no api.tokens.
type localAdmin struct {
	file          string
	token         string
	stateDir      string
	removePointer func()
}

// apiTokens returns the configured tokens, or, when there are none, a
// generated admin token kept in admin.token beside the SQLite file (or in
// the state directory). There is no unauthenticated mode: a web page on the
// same machine must not be able to drive rollbacks.
func (a *App) apiTokens(cfg *config.Config, sqlitePath, stateDir string) ([]config.Token, error) {
	if len(cfg.API.Tokens) > 0 {
		return cfg.API.Tokens, nil
	}
	if stateDir == "" {
		d, err := localtoken.StateDir()
		if err != nil {
			return nil, fmt.Errorf("app: api.tokens: none configured, and %w", err)
		}
		stateDir = d
	}
	file := localtoken.Path(sqlitePath, stateDir)
	tok, err := localtoken.LoadOrCreate(file)
	if err != nil {
		return nil, fmt.Errorf("app: api.tokens: none configured, so ripcord keeps its own admin token, but %w", err)
	}
	a.local = &localAdmin{file: file, token: tok, stateDir: stateDir}
	return []config.Token{{Name: "local", Role: config.RoleAdmin, Value: tok}}, nil
}

// LocalToken is the generated admin token and its file, "" when api.tokens
// are configured. For in-process clients (the demo, tests).
func (a *App) LocalToken() (token, file string) {
	if a.local == nil {
		return "", ""
	}
	return a.local.token, a.local.file
}

// listenAPI binds the API. With the generated token the API must be bound
// to loopback: config only sees the name (localhost may resolve to any
// address), so the bound address is what is checked.
func (a *App) listenAPI() (net.Listener, error) {
	ln, err := net.Listen("tcp", a.cfg.API.Listen)
	if err != nil {
		return nil, fmt.Errorf("app: api.listen %s: %w", a.cfg.API.Listen, err)
	}
	if a.local != nil {
		if ap, ok := addrPort(ln.Addr()); !ok || !ap.Addr().IsLoopback() {
			_ = ln.Close()
			return nil, fmt.Errorf("app: api.listen %s bound %s, which is not a loopback address, and no api.tokens are configured: "+
				"listen on 127.0.0.1 or ::1, or configure api.tokens", a.cfg.API.Listen, ln.Addr())
		}
	}
	a.setAddr("api", ln.Addr().String())
	return ln, nil
}

// serveAPI starts serving on ln and, with the generated token, leaves the
// pointer by which the CLI finds it.
func (a *App) serveAPI(ln net.Listener) error {
	srv := &http.Server{Handler: a.apiHandler(), ReadHeaderTimeout: apiReadHeaderTimeout, IdleTimeout: apiIdleTimeout}
	if a.web != nil {
		srv.RegisterOnShutdown(a.web.Shutdown) // open event streams would hold Shutdown up
	}
	a.servers = append(a.servers, srv)
	a.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("api stopped", "err", err)
		}
	})
	if a.local == nil {
		a.log.Info("api listening", "addr", ln.Addr().String(), "tokens", len(a.cfg.API.Tokens))
		return nil
	}
	ap, _ := addrPort(ln.Addr())
	remove, err := localtoken.WritePointer(a.local.stateDir, ap, a.local.file)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.local.removePointer = remove
	a.log.Info("api listening with a generated admin token (no api.tokens configured); the CLI on this machine finds it",
		"addr", ln.Addr().String(), "token_file", a.local.file)
	return nil
}

// listeners is every address ripcord itself is bound to.
func (a *App) listeners() []netip.AddrPort {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []netip.AddrPort
	for _, s := range a.addrs {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			out = append(out, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		}
	}
	return out
}

// checkVersionURLs refuses to start when a configured version URL points at
// one of ripcord's own listeners (the switch would serve the API, or
// itself, on the proxy port). It runs after binding, so :0 ports and
// wildcard binds are known.
func (a *App) checkVersionURLs(ctx context.Context) error {
	bound := a.listeners()
	var errs []error
	for i, sc := range a.cfg.Services {
		if sc.External() {
			continue
		}
		for j, v := range sc.Versions {
			if err := api.CheckUpstream(ctx, v.URL, bound); errors.Is(err, api.ErrSelfLoop) {
				errs = append(errs, fmt.Errorf("app: services[%d].versions[%d].url (%s %s): %w", i, j, sc.Name, v.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := tcp.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
