package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	serviceName = regexp.MustCompile(`^[a-z0-9-]+$`)
	versionName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// Validate checks c and reports every problem at once as Errors (lines are
// filled in when c came from Load). It also resolves each token's secret into
// Token.Value from its token_file (relative to c.BaseDir) or ${ENV}, because
// an unreadable secret is a configuration problem like any other and must be
// found before the daemon starts serving.
func (c *Config) Validate() error {
	var r report
	c.validate(&r)
	return r.err()
}

func (c *Config) validate(r *report) {
	c.API.validate(r, c.BaseDir)
	if _, err := c.Store.SQLitePath(c.BaseDir); err != nil {
		r.add("store.url", "%v", err)
	}
	c.Log.validate(r)
	c.validateServices(r)
	c.Notify.validate(r, c.BaseDir)
}

func (l Log) validate(r *report) {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, l.Level) {
		r.add("log.level", "must be one of debug, info, warn, error, not %q", l.Level)
	}
	if l.Format != "text" && l.Format != "json" {
		r.add("log.format", "must be text or json, not %q", l.Format)
	}
}

// checkListen reports whether addr is host:port with a numeric port; the host
// may be empty (all interfaces) and port 0 asks the OS for a free port.
func checkListen(r *report, path, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		n, perr := strconv.Atoi(port)
		err = perr
		if perr == nil && (n < 0 || n > 65535) {
			err = strconv.ErrRange
		}
	}
	if err != nil {
		r.add(path, "must be host:port with a numeric port, e.g. 127.0.0.1:8080 (IPv6: [::1]:8080), not %q", addr)
		return false
	}
	return true
}

// isLoopback reports whether addr (host:port) only accepts local connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listener is a listen address and the key that declared it.
type listener struct{ path, addr string }

// conflicts reports whether a and b cannot both be bound: same port and the
// same host, or one of them on all interfaces. Port 0 never conflicts.
func (a listener) conflicts(b listener) bool {
	ah, ap, err1 := net.SplitHostPort(a.addr)
	bh, bp, err2 := net.SplitHostPort(b.addr)
	if err1 != nil || err2 != nil || ap != bp || ap == "0" {
		return false
	}
	return ah == bh || wildcard(ah) || wildcard(bh)
}

func wildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

func (c *Config) validateServices(r *report) {
	if len(c.Services) == 0 {
		r.add("services", "at least one service is required: list the services ripcord guards, each with a name, proxy.listen and versions")
		return
	}
	seen := map[string]string{} // name → path of first use
	listeners := []listener{{"api.listen", c.API.Listen}}
	for i := range c.Services {
		s := &c.Services[i]
		path := index("services", i)
		s.Signals.resolveProbeFile(c.BaseDir)
		s.validate(r, path)
		if first, dup := seen[s.Name]; dup && s.Name != "" {
			r.add(field(path, "name"), "service %q is already defined at %s: service names must be unique", s.Name, first)
		}
		seen[s.Name] = path
		if s.External() {
			continue // no proxy listener
		}
		l := listener{field(path, "proxy.listen"), s.Proxy.Listen}
		for _, other := range listeners {
			if l.conflicts(other) {
				r.add(l.path, "%s is already used by %s: give every listener its own port", l.addr, other.path)
				break
			}
		}
		listeners = append(listeners, l)
	}
}

func (s *Service) validate(r *report, path string) {
	switch {
	case s.Name == "":
		r.add(field(path, "name"), "is required: a short name such as llm-api (lowercase letters, digits and '-')")
	case !serviceName.MatchString(s.Name):
		r.add(field(path, "name"), "%q may contain only lowercase letters, digits and '-' (it appears in URLs and metric labels), e.g. llm-api", s.Name)
	}
	if k := s.Target.Kubernetes; k != nil {
		// Versions and traffic live in the cluster: no proxy, no version list.
		if err := k.WithDefaults().Validate(); err != nil {
			r.add(field(path, "target.kubernetes"), "%v", err)
		}
		if s.Proxy.Listen != "" || len(s.Versions) > 0 {
			r.add(path, "a Kubernetes target takes its versions from the cluster: remove proxy and versions")
		}
	} else {
		checkListen(r, field(path, "proxy.listen"), s.Proxy.Listen)
		s.validateVersions(r, path)
	}
	s.Proxy.validate(r, field(path, "proxy"))
	s.Policy.validate(r, field(path, "policy"))
	s.Signals.validate(r, field(path, "signals"))
}

func (s *Service) validateVersions(r *report, path string) {
	vpath := field(path, "versions")
	if len(s.Versions) == 0 {
		r.add(vpath, "at least one version is required, oldest first, e.g. - {name: v1, url: http://127.0.0.1:9001}")
		return
	}
	seen := map[string]bool{}
	for i, v := range s.Versions {
		p := index(vpath, i)
		switch {
		case v.Name == "":
			r.add(field(p, "name"), "is required, e.g. v1")
		case !versionName.MatchString(v.Name):
			r.add(field(p, "name"), "%q may contain only letters, digits, '.', '_' and '-', e.g. v1.2.0", v.Name)
		case seen[v.Name]:
			r.add(field(p, "name"), "version %q is listed twice: version names must be unique within a service", v.Name)
		}
		seen[v.Name] = true
		checkVersionURL(r, field(p, "url"), v.URL)
	}
	if s.Active != "" && !seen[s.Active] {
		r.add(field(path, "active"), "%q is not one of this service's versions: name a version listed under versions, or leave active out to use the last one", s.Active)
	} else if s.Active == "" && s.Versions[len(s.Versions)-1].Name != "" {
		// (With an unnamed last version the missing name is the problem.)
		r.add(field(path, "active"), "must name one of this service's versions (leave the key out to use the last one)")
	}
}

// checkVersionURL requires an absolute http(s) URL. The URL itself is not
// quoted back: it may carry credentials (http://user:pass@host).
func checkVersionURL(r *report, path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.add(path, "must be an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:9001")
	}
}

func (p *Proxy) validate(r *report, path string) {
	if p.RetryOnPrevious.MaxBodyBytes < 0 {
		r.add(field(path, "retry_on_previous.max_body_bytes"), "must be 0 or more bytes (default %d)", DefaultMaxBodyBytes)
	}
	for i, c := range p.TrustedProxies {
		if _, err := netip.ParsePrefix(c); err != nil {
			hint := ""
			if _, aerr := netip.ParseAddr(c); aerr == nil {
				hint = fmt.Sprintf(" (for one address write %s/32, or /128 for IPv6)", c)
			}
			r.add(index(field(path, "trusted_proxies"), i), "%q is not a CIDR such as 10.0.0.0/8%s", c, hint)
		}
	}
	if p.BodyTimeout <= 0 {
		r.add(field(path, "body_timeout"), "must be a positive duration such as 30s (the default), not %s", p.BodyTimeout)
	}
	if p.MaxConns <= 0 {
		r.add(field(path, "max_conns"), "must be a positive number of connections (default %d), not %d", DefaultMaxConns, p.MaxConns)
	}
}
