package teams

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultTimeout bounds one HTTP exchange with the webhook.
const DefaultTimeout = 10 * time.Second

// Config is one Teams channel's incoming webhook.
type Config struct {
	// WebhookURL is the Workflows ("Post to a channel when a webhook request
	// is received") trigger URL. Its sig= parameter lets anyone holding it
	// post, so the whole URL is a secret: the config layer resolves it and
	// it prints as <redacted>. Point it at a local receiver to test.
	WebhookURL notify.Secret `yaml:"-" json:"-"`
	// Timeout bounds each HTTP exchange; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

func (c Config) withDefaults() (Config, error) {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	var errs []error
	if u, err := url.Parse(c.WebhookURL.Reveal()); c.WebhookURL == "" {
		errs = append(errs, errors.New("webhook_url is required: the Teams Workflows webhook trigger URL"))
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("webhook_url is not an absolute http(s) URL"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("teams: %w", err)
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
