package config

import (
	"errors"
	"fmt"
	"io/fs"
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

// CheckVersionName applies the config's rule for versions[].name to a name
// from elsewhere (the deploy API), so both accept exactly the same names.
func CheckVersionName(name string) error {
	switch {
	case name == "":
		return errors.New("is required, e.g. v1")
	case !versionName.MatchString(name):
		return fmt.Errorf("%.80q may contain only letters, digits, '.', '_' and '-', e.g. v1.2.0", name)
	}
	return nil
}

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
	c.validateStore(r)
	c.validateHA(r)
	c.Log.validate(r)
	c.validateServices(r)
	c.Notify.validate(r)
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
		s.validate(r, path, c.BaseDir)
		if first, dup := seen[s.Name]; dup && s.Name != "" {
			r.add(child(path, "name"), "service %q is already defined at %s: service names must be unique", s.Name, first)
		}
		seen[s.Name] = path
		if s.External() {
			continue // no proxy listener
		}
		l := listener{child(path, "proxy.listen"), s.Proxy.Listen}
		for _, other := range listeners {
			if l.conflicts(other) {
				r.add(l.path, "%s is already used by %s: give every listener its own port", l.addr, other.path)
				break
			}
		}
		listeners = append(listeners, l)
	}
}

func (s *Service) validate(r *report, path, baseDir string) {
	switch {
	case s.Name == "":
		r.add(child(path, "name"), "is required: a short name such as llm-api (lowercase letters, digits and '-')")
	case !serviceName.MatchString(s.Name):
		r.add(child(path, "name"), "%q may contain only lowercase letters, digits and '-' (it appears in URLs and metric labels), e.g. llm-api", s.Name)
	}
	if s.Target.Provider() != nil {
		// Whether the target takes a version list depends on its kind,
		// which routing knows (routeTargetVersions).
	} else {
		checkListen(r, child(path, "proxy.listen"), s.Proxy.Listen)
		s.validateVersions(r, path, baseDir)
	}
	s.Proxy.validate(r, child(path, "proxy"))
	s.Policy.validate(r, child(path, "policy"))
	s.Signals.validate(r, child(path, "signals"))
	s.Strategy.validate(r, child(path, "strategy"))
	s.Drills.validate(r, child(path, "drills"), s.External())
	if s.Strategy.Shadow != nil && s.Target.Provider() != nil {
		r.add(child(path, "strategy.shadow"), "needs the built-in switch, which copies live requests: remove target.%s, or remove strategy.shadow",
			s.Target.Provider().Kind)
	}
}

func (s *Service) validateVersions(r *report, path, baseDir string) {
	s.checkVersions(r, path, baseDir, false)
}

// checkVersions checks the version list; with urlOptional (a file, exec or
// webhook target, which reverts by name) a version may have no url.
func (s *Service) checkVersions(r *report, path, baseDir string, urlOptional bool) {
	vpath := child(path, "versions")
	if len(s.Versions) == 0 {
		r.add(vpath, "at least one version is required, oldest first, e.g. - {name: v1, url: http://127.0.0.1:9001}")
		return
	}
	seen := map[string]bool{}
	for i, v := range s.Versions {
		p := index(vpath, i)
		switch {
		case v.Name == "":
			r.add(child(p, "name"), "is required, e.g. v1")
		case !versionName.MatchString(v.Name):
			r.add(child(p, "name"), "%q may contain only letters, digits, '.', '_' and '-', e.g. v1.2.0", v.Name)
		case seen[v.Name]:
			r.add(child(p, "name"), "version %q is listed twice: version names must be unique within a service", v.Name)
		}
		seen[v.Name] = true
		if urlOptional && v.URL == "" && v.URLFile == "" {
			continue
		}
		s.Versions[i].resolveURL(r, p, baseDir)
	}
	if s.Active != "" && !seen[s.Active] {
		r.add(child(path, "active"), "%q is not one of this service's versions: name a version listed under versions, or leave active out to use the last one", s.Active)
	} else if s.Active == "" && s.Versions[len(s.Versions)-1].Name != "" {
		// (With an unnamed last version the missing name is the problem.)
		r.add(child(path, "active"), "must name one of this service's versions (leave the key out to use the last one)")
	}
}

// resolveURL reads URL from URLFile when that is set, then requires an
// absolute http(s) URL. The URL itself is never quoted back: it may carry
// credentials (http://user:pass@host, ?token=…).
func (v *Version) resolveURL(r *report, path, baseDir string) {
	urlPath := child(path, "url")
	if v.URLFile != "" {
		filePath := child(path, "url_file")
		if v.URL != "" && !v.urlRead {
			r.add(path, "sets both url and url_file: keep exactly one (url_file keeps credentials in the URL out of the config)")
			return
		}
		name := resolvePath(baseDir, v.URLFile)
		u, err := readSecret(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.add(filePath, "file %s does not exist: create it with the version's URL on one line, or fix the path (relative paths start at the config file's directory)", name)
			return
		case err != nil:
			r.add(filePath, "%v", err)
			return
		case u == "":
			r.add(filePath, "file %s is empty: put the version's URL in it on one line", name)
			return
		}
		v.URL, v.urlRead, urlPath = u, true, filePath
	}
	if !isHTTPURL(v.URL) {
		r.add(urlPath, "must be an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:9001 (or url_file: a file holding it)")
	}
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (p *Proxy) validate(r *report, path string) {
	if p.RetryOnPrevious.MaxBodyBytes < 0 {
		r.add(child(path, "retry_on_previous.max_body_bytes"), "must be 0 or more bytes (default %d)", DefaultMaxBodyBytes)
	}
	for i, c := range p.TrustedProxies {
		if _, err := netip.ParsePrefix(c); err != nil {
			hint := ""
			if _, aerr := netip.ParseAddr(c); aerr == nil {
				hint = fmt.Sprintf(" (for one address write %s/32, or /128 for IPv6)", c)
			}
			r.add(index(child(path, "trusted_proxies"), i), "%q is not a CIDR such as 10.0.0.0/8%s", c, hint)
		}
	}
	if p.BodyTimeout <= 0 {
		r.add(child(path, "body_timeout"), "must be a positive duration such as 30s (the default), not %s", p.BodyTimeout)
	}
	if p.MaxConns <= 0 {
		r.add(child(path, "max_conns"), "must be a positive number of connections (default %d), not %d", DefaultMaxConns, p.MaxConns)
	}
}
