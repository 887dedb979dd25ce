package teams

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultTimeout bounds one HTTP exchange with the webhook.
const DefaultTimeout = 10 * time.Second

// Config is one Teams channel's incoming webhook.
type Config struct {
	// WebhookURL is the Workflows ("Post to a channel when a webhook request
	// is received") trigger URL. Its sig= parameter lets anyone holding it
	// post, so the whole URL is a secret: webhook_url_file or ${ENV} in the
	// config file, and it prints as <redacted>. Point it at a local receiver to test.
	WebhookURL notify.Secret `yaml:"webhook_url" json:"-"`
	// Timeout bounds each HTTP exchange; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Validate checks c as New would and reports field.Errors with paths
// relative to the channel's block.
func (c Config) Validate() error {
	var errs field.Errors
	if u, err := url.Parse(c.WebhookURL.Reveal()); c.WebhookURL == "" {
		errs.MissingSecret("webhook_url")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("webhook_url", "is not an absolute http(s) URL: use the Teams Workflows webhook trigger URL")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	return errs.Err()
}

// withDefaults checks c and fills its zero values.
func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("teams: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

// Option adjusts a Notifier beyond its Config.
type Option func(*Notifier)

// WithHTTPTransport replaces the transport under the Notifier's client
// (default http.DefaultTransport), e.g. for a proxy.
func WithHTTPTransport(rt http.RoundTripper) Option {
	return func(n *Notifier) { n.client.Transport = rt }
}
