package file

import (
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
)

// DefaultTimeout bounds the reload and health check of one revert.
const DefaultTimeout = 30 * time.Second

// Config is the file target's configuration. In YAML:
//
//	file:
//	  path: /srv/model/ACTIVE_VERSION        # required, absolute once resolved
//	  reload_url: http://127.0.0.1:8080/reload  # optional: POSTed after the write
//	  health_url: http://127.0.0.1:8080/healthz # optional: must answer 2xx
//	  timeout: 30s                           # bounds reload + health; default 30s
type Config struct {
	Path      field.File    `yaml:"path"`
	ReloadURL string        `yaml:"reload_url"`
	HealthURL string        `yaml:"health_url"`
	Timeout   time.Duration `yaml:"timeout"`
}

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem at once, each naming its field and the
// fix. It does not touch the file system (New does).
func (c Config) Validate() error {
	var errs field.Errors
	switch {
	case c.Path == "":
		errs.Add("path", "path is required: the file the model server reads its version from")
	case !filepath.IsAbs(string(c.Path)):
		errs.Add("path", "path %q is not absolute: relative paths are resolved against the config file's directory before the target is built", c.Path)
	}
	for _, u := range []struct{ field, raw string }{{"reload_url", c.ReloadURL}, {"health_url", c.HealthURL}} {
		if u.raw == "" {
			continue
		}
		if p, err := url.Parse(u.raw); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs.Add(u.field, "%s is not an absolute http(s) URL: write it as http://HOST:PORT/PATH", u.field)
		}
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "timeout %s is negative: use a positive duration such as 30s", c.Timeout)
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("file target: %w", err)
	}
	return nil
}

// shortURL is scheme://host/path: no userinfo or query, which may hold a
// token.
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid url>"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
