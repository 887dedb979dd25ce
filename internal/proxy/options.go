package proxy

import (
	"log/slog"
	"net/netip"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultRetention       = time.Minute
	DefaultMaxBodyBytes    = 64 << 10
	DefaultDrainTimeout    = 30 * time.Second
	DefaultResponseTimeout = time.Minute
	DefaultHeaderTimeout   = 10 * time.Second
	DefaultBodyTimeout     = 30 * time.Second
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultMaxConns        = 10000
)

// Options configure a Switch. The package defines its own option types so
// that the request path depends on no other ripcord package; internal/app
// maps the configuration onto them.
type Options struct {
	Service string
	Logger  *slog.Logger // nil = discard
	Retry   Retry
	// Retention is how much stats history is kept; at least the policy
	// window. Default 1m.
	Retention time.Duration
	// DrainTimeout bounds how long Serve waits for in-flight requests and
	// streams after its context is cancelled, and how long responses still
	// streaming from a version that was switched away from may go on.
	// Default 30s.
	DrainTimeout time.Duration
	// ResponseTimeout bounds how long a version may take to start answering
	// (send its response head). Past it the request fails with 504 and counts
	// as an error for the version, so a version that hangs is seen failing
	// rather than not seen at all. Streams, once started, are not bounded.
	// Default 1m; negative: no limit.
	ResponseTimeout time.Duration
	// Headers maps a metric to a response header whose numeric value the
	// service sets per answer (quality_score: X-Quality-Score); the switch
	// averages it per version. See HeaderSignal.
	Headers map[string]string
	// TrustedProxies are the peers (load balancers, CDNs) whose Forwarded,
	// X-Real-IP, X-Forwarded-Host and X-Forwarded-Proto headers are passed
	// on; from anyone else they are dropped and the switch sets
	// X-Forwarded-Host and -Proto from what it saw. Default: none.
	TrustedProxies []netip.Prefix
	// HeaderTimeout bounds the time from a request's first byte (a new
	// connection's accept) to its complete head. Default 10s.
	HeaderTimeout time.Duration
	// BodyTimeout is the progress deadline of request bodies: every read of
	// the body must receive something within it. Default 30s.
	BodyTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that carries no request
	// for this long; it never applies while a response is being relayed.
	// Default 2m.
	IdleTimeout time.Duration
	// MaxConns caps the client connections one Serve call holds open;
	// connections beyond it are answered 503 and closed. Default 10000.
	MaxConns int
	// Sticky assigns users to one side of a canary by a header or cookie
	// (canary.go); zero: every request is assigned on its own.
	Sticky Sticky
	// Shadow configures copies of live traffic to a version under
	// StartShadow (shadow.go).
	Shadow Shadow
}

// Retry is retry_on_previous: a request the active version failed
// (connection error or 5xx, nothing sent to the client yet) is sent once
// more to the fallback version.
type Retry struct {
	Enabled bool
	// MaxBodyBytes is the largest request body buffered so it can be
	// resent. Default 64 KiB.
	MaxBodyBytes int64
	// NonIdempotent allows retrying POST and PATCH.
	NonIdempotent bool
}

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Retry.MaxBodyBytes <= 0 {
		o.Retry.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	switch {
	case o.ResponseTimeout == 0:
		o.ResponseTimeout = DefaultResponseTimeout
	case o.ResponseTimeout < 0:
		o.ResponseTimeout = 0
	}
	fillDuration(&o.HeaderTimeout, DefaultHeaderTimeout)
	fillDuration(&o.BodyTimeout, DefaultBodyTimeout)
	fillDuration(&o.IdleTimeout, DefaultIdleTimeout)
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func fillDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// trusted reports whether a peer may set forwarding headers.
func (o *Options) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range o.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// trustedAddr is trusted for a "host:port" remote address.
func (o *Options) trustedAddr(remote string) bool {
	if len(o.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && o.trusted(ap.Addr())
}
