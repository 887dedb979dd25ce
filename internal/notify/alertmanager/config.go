package alertmanager

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultTimeout bounds one HTTP exchange with Alertmanager.
const DefaultTimeout = 10 * time.Second

// DefaultAlertTTL is how long a firing alert stays active in Alertmanager
// without being sent again.
const DefaultAlertTTL = 24 * time.Hour

// Config is one Alertmanager (or a cluster's load balancer).
type Config struct {
	// URL is the Alertmanager base, e.g. http://alertmanager:9093; alerts are
	// POSTed to URL + "/api/v2/alerts".
	URL string `yaml:"url" json:"url,omitempty"`
	// BearerToken, when set, is sent as "Authorization: Bearer …" for an
	// Alertmanager behind an authenticating proxy. It is a secret:
	// bearer_token_file or ${ENV} in the config file, printed as <redacted>.
	BearerToken notify.Secret `yaml:"bearer_token" json:"-"`
	// AlertTTL is how far ahead a firing alert's endsAt is set. Alertmanager
	// resolves an alert on its own once endsAt passes (or, without endsAt,
	// after its resolve_timeout, 5m by default), and ripcord sends only on
	// changes, not every few minutes as Prometheus does, so an open
	// incident needs an explicit horizon. If ripcord dies mid-incident the
	// alert lingers at most this long. Zero means DefaultAlertTTL.
	AlertTTL time.Duration `yaml:"alert_ttl" json:"alert_ttl,omitempty"`
	// Timeout bounds each HTTP exchange; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// String hides a password in url; the token prints as <redacted> on its
// own.
func (c Config) String() string {
	return fmt.Sprintf("{url:%s bearer_token:%s alert_ttl:%s timeout:%s}",
		notify.RedactURL(c.URL), c.BearerToken, c.AlertTTL, c.Timeout)
}

// GoString is String for %#v.
func (c Config) GoString() string { return "alertmanager.Config" + c.String() }

// LogValue is String's fields for structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", notify.RedactURL(c.URL)),
		slog.Duration("alert_ttl", c.AlertTTL),
		slog.Duration("timeout", c.Timeout),
	)
}

// Validate checks c as New would and reports field.Errors with paths
// relative to the channel's block.
func (c Config) Validate() error {
	var errs field.Errors
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "must be an absolute http(s) URL such as http://alertmanager:9093, not %q", notify.RedactURL(c.URL))
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	if c.AlertTTL < 0 {
		errs.Add("alert_ttl", "must not be negative, not %s", c.AlertTTL)
	}
	return errs.Err()
}

// withDefaults checks c and fills its zero values.
func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("alertmanager: %w", err)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.AlertTTL == 0 {
		c.AlertTTL = DefaultAlertTTL
	}
	return c, nil
}

// Option adjusts a Notifier beyond its Config.
type Option func(*Notifier)

// WithState lets the Notifier remember the severity it last fired for each
// incident, so that when the severity changes the alert under the old
// severity label is resolved instead of lingering until its TTL.
func WithState(s notify.State) Option { return func(n *Notifier) { n.state = s } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(n *Notifier) { n.now = now } }
