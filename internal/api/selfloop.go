package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
)

// ErrSelfLoop is a version URL that points at one of ripcord's own
// listeners: the switch would proxy users into the API (publishing it on the
// proxy port) or into itself.
var ErrSelfLoop = errors.New("api: version url points at ripcord itself")

// CheckUpstream refuses a version URL whose host and port reach one of
// listeners, the addresses ripcord's API and proxies are bound to. The
// host is resolved (a name may point at a loopback or local address); a
// listener bound to a wildcard address (0.0.0.0, ::) is reached through
// any loopback, unspecified or local interface address. The URL is never
// quoted back: it may carry credentials.
func CheckUpstream(ctx context.Context, rawURL string, listeners []netip.AddrPort) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errors.New("url: must be an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:9001")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return errors.New("url: the port must be a number from 1 to 65535")
	}
	ips, err := resolve(ctx, u.Hostname())
	if err != nil {
		return fmt.Errorf("url: host %q does not resolve: %w", u.Hostname(), err)
	}
	for _, ln := range listeners {
		if ln.Port() != uint16(p) {
			continue
		}
		for _, ip := range ips {
			if reaches(ip, ln.Addr().Unmap()) {
				return fmt.Errorf("%w: url reaches %s, where ripcord listens: give the version's own address (its server, not ripcord's proxy.listen or api.listen)", ErrSelfLoop, ln)
			}
		}
	}
	return nil
}

func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

// reaches reports whether a connection to dst lands on a listener bound to
// bound (same port assumed).
func reaches(dst, bound netip.Addr) bool {
	switch {
	case dst == bound:
		return true
	case dst.IsUnspecified():
		return true // connecting to 0.0.0.0 or :: reaches the local host
	case bound.IsUnspecified():
		return dst.IsLoopback() || isLocal(dst)
	}
	return false
}

// isLocal reports whether ip is assigned to one of this machine's
// interfaces.
func isLocal(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}
