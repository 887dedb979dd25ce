package app

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/signal/jsonpath"
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
		Sticky:         sticky(sc.Strategy.Canary),
		Shadow:         shadowOptions(sc.Strategy.Shadow),
	}, nil
}

// shadowOptions maps strategy.shadow onto the switch's options; the JSON
// field comparison is built here, where jsonpath may be imported.
func shadowOptions(sh *config.Shadow) proxy.Shadow {
	if sh == nil {
		return proxy.Shadow{}
	}
	o := proxy.Shadow{Percent: sh.Percent, Methods: sh.Methods, MaxBody: sh.MaxBody, Backlog: sh.Backlog,
		CompareStatus: sh.Compare.Status}
	if sh.MaxBody == 0 {
		o.MaxBody = -1 // only requests without a body
	}
	var paths []jsonpath.Path
	for _, p := range sh.Compare.JSON {
		if jp, err := jsonpath.Parse(p); err == nil { // Validate refused the others
			paths = append(paths, jp)
		}
	}
	if len(paths) > 0 {
		o.CompareBody = func(live, shadow []byte) bool { return sameFields(paths, live, shadow) }
	}
	return o
}

// sameFields reports whether two JSON answers agree on every path: both
// missing counts as agreeing, one missing or a different value does not.
// A live answer that is not JSON gives nothing to compare with (agree).
func sameFields(paths []jsonpath.Path, live, shadow []byte) bool {
	var l, s any
	if json.Unmarshal(live, &l) != nil {
		return true
	}
	if json.Unmarshal(shadow, &s) != nil {
		return false
	}
	for _, p := range paths {
		lv, lerr := p.Lookup(l)
		sv, serr := p.Lookup(s)
		if (lerr == nil) != (serr == nil) || (lerr == nil && !reflect.DeepEqual(lv, sv)) {
			return false
		}
	}
	return true
}

func sticky(c *config.Canary) proxy.Sticky {
	if c == nil {
		return proxy.Sticky{}
	}
	return proxy.Sticky{Header: c.Sticky.Header, Cookie: c.Sticky.Cookie}
}

// canaryTarget refuses strategy.canary for a target that cannot split
// traffic between two versions (a rollout undo, a model alias): a canary
// there would silently be a blue-green deploy.
func canaryTarget(sc *config.Service, t revert.Target) error {
	if sc.Strategy.Canary == nil {
		return nil
	}
	c, canSay := t.(interface{ CanWeight() bool })
	if _, ok := t.(revert.Weighted); !ok || (canSay && !c.CanWeight()) {
		return fmt.Errorf("app: services %s: strategy.canary: its %s target cannot weight traffic between two versions; "+
			"remove strategy.canary, or use the built-in switch or target.kubernetes.mode: httproute", sc.Name, sc.Target.Provider().Kind)
	}
	return nil
}

// The controller tells the switch which latency bounds a watch tests
// through this interface; deps.Router is the *proxy.Switch itself.
var _ controller.BoundsTracker = (*proxy.Switch)(nil)
