package app

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/proxy"
)

// proxyOptions maps a service's schema onto the switch's own option types:
// internal/proxy imports no other ripcord package.
func proxyOptions(sc *config.Service, log *slog.Logger) (proxy.Options, error) {
	p := sc.Proxy
	trusted := make([]netip.Prefix, 0, len(p.TrustedProxies))
	for i, c := range p.TrustedProxies {
		pfx, err := netip.ParsePrefix(c)
		if err != nil { // Validate refuses these; a config built in Go may not have been validated
			return proxy.Options{}, fmt.Errorf("app: service %s: proxy.trusted_proxies[%d]: %w", sc.Name, i, err)
		}
		trusted = append(trusted, pfx.Masked())
	}
	return proxy.Options{
		Service: sc.Name,
		Logger:  log.With("component", "proxy"),
		Retry: proxy.Retry{
			Enabled:       p.RetryOnPrevious.Enabled,
			MaxBodyBytes:  p.RetryOnPrevious.MaxBodyBytes,
			NonIdempotent: p.RetryOnPrevious.NonIdempotent,
		},
		Retention:      max(time.Minute, 2*sc.Policy.Window),
		Headers:        sc.Signals.Headers,
		TrustedProxies: trusted,
		BodyTimeout:    p.BodyTimeout,
		MaxConns:       p.MaxConns,
	}, nil
}

// The controller tells the switch which latency bounds a watch tests
// through this interface; deps.Router is the *proxy.Switch itself.
var _ controller.BoundsTracker = (*proxy.Switch)(nil)
