package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultTimeout bounds one delivery attempt.
const DefaultTimeout = 10 * time.Second

// secretPrefix marks a Standard Webhooks signing secret.
const secretPrefix = "whsec_"

// minKeyLen is the Standard Webhooks lower bound on the signing key, in
// bytes (192 bits).
const minKeyLen = 24

// Config is one webhook endpoint.
type Config struct {
	// URL receives the events (POST). Generic endpoints often carry a token
	// in the path or query, so errors and String show only scheme and host.
	URL string `yaml:"url" json:"url,omitempty"`
	// Secret is the Standard Webhooks signing secret, "whsec_" followed by
	// base64 of 24 to 64 random bytes (the prefix may be left off). In the
	// config file it is secret_file or ${ENV}; it prints as <redacted>.
	Secret notify.Secret `yaml:"secret" json:"-"`
	// Timeout bounds each delivery attempt; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// String shows only the URL's scheme and host; the secret prints as
// <redacted> on its own.
func (c Config) String() string {
	return fmt.Sprintf("{url:%s secret:%s timeout:%s}", hostOnly(c.URL), c.Secret, c.Timeout)
}

// GoString is String for %#v.
func (c Config) GoString() string { return "webhook.Config" + c.String() }

// LogValue keeps the URL's path out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", hostOnly(c.URL)), slog.Duration("timeout", c.Timeout))
}

// Validate checks c as New would, the signing secret's encoding included,
// and reports field.Errors with paths relative to the channel's block.
// Messages describe the secret, never its value.
func (c Config) Validate() error {
	var errs field.Errors
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "must be an absolute http(s) URL, e.g. https://hooks.example.com/ripcord")
	}
	if c.Secret == "" {
		errs.MissingSecret("secret")
	} else if _, err := DecodeSecret(c.Secret.Reveal()); err != nil {
		errs.Add("secret", "%v", err)
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	return errs.Err()
}

// withDefaults checks c and returns it with defaults filled in and the
// decoded signing key.
func (c Config) withDefaults() (Config, []byte, error) {
	if err := c.Validate(); err != nil {
		return c, nil, fmt.Errorf("webhook: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	key, err := DecodeSecret(c.Secret.Reveal())
	return c, key, err
}

// DecodeSecret turns a Standard Webhooks secret, "whsec_<base64>" (the
// prefix may be left off), into the HMAC key. Errors describe the
// problem, never the value. The revert webhook target shares it.
func DecodeSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("secret is required: a Standard Webhooks signing secret, whsec_<base64>")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
	if err != nil {
		return nil, errors.New("is not whsec_ followed by standard base64")
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("decodes to %d bytes, want at least %d (generate one with: echo whsec_$(head -c 32 /dev/urandom | base64))", len(key), minKeyLen)
	}
	return key, nil
}

// Option adjusts a Notifier beyond its Config.
type Option func(*Notifier)

// WithClock sets the clock used for webhook-timestamp (tests).
func WithClock(now func() time.Time) Option { return func(n *Notifier) { n.now = now } }

// hostOnly reduces a URL to scheme://host, dropping userinfo, path and
// query, any of which may hold a token.
func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid>"
	}
	return u.Scheme + "://" + u.Host
}
