package pagerduty

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultURL is the Events API v2 base; events are POSTed to URL+"/v2/enqueue".
const DefaultURL = "https://events.pagerduty.com"

// DefaultTimeout bounds one HTTP exchange with PagerDuty.
const DefaultTimeout = 10 * time.Second

// Config is one PagerDuty service integration (Events API v2).
type Config struct {
	// RoutingKey is the service integration key. Anyone holding it can open
	// incidents on the service, so it is a secret: routing_key_file or
	// ${ENV} in the config file, and it prints as <redacted>.
	RoutingKey notify.Secret `yaml:"routing_key" json:"-"`
	// URL is the Events API base, default https://events.pagerduty.com (use
	// https://events.eu.pagerduty.com for EU accounts, or a local receiver).
	URL string `yaml:"url" json:"url,omitempty"`
	// Timeout bounds each HTTP exchange; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// String hides a password in url; the routing key prints as <redacted> on
// its own.
func (c Config) String() string {
	return fmt.Sprintf("{routing_key:%s url:%s timeout:%s}", c.RoutingKey, notify.RedactURL(c.URL), c.Timeout)
}

// GoString is String for %#v.
func (c Config) GoString() string { return "pagerduty.Config" + c.String() }

// LogValue is String's fields for structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", notify.RedactURL(c.URL)), slog.Duration("timeout", c.Timeout))
}

// Validate checks c as New would, judging empty fields as their defaults,
// and reports field.Errors with paths relative to the channel's block.
func (c Config) Validate() error {
	c = c.fill()
	var errs field.Errors
	if c.RoutingKey == "" {
		errs.MissingSecret("routing_key")
	}
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "must be an absolute http(s) URL such as %s, not %q", DefaultURL, notify.RedactURL(c.URL))
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	return errs.Err()
}

func (c Config) fill() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// withDefaults checks c and fills its zero values.
func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("pagerduty: %w", err)
	}
	return c.fill(), nil
}

// Option adjusts a Notifier beyond its Config.
type Option func(*Notifier)

// WithHTTPTransport replaces the transport under the Notifier's client
// (default http.DefaultTransport), e.g. for a proxy or custom TLS.
func WithHTTPTransport(rt http.RoundTripper) Option {
	return func(n *Notifier) { n.transport = rt }
}
