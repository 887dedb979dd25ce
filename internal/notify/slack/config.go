package slack

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultAPIURL is where Web API calls go unless Config.APIURL says
// otherwise; methods are appended as APIURL + "/api/" + method.
const DefaultAPIURL = "https://slack.com"

// DefaultTimeout bounds one HTTP exchange with Slack.
const DefaultTimeout = 10 * time.Second

// Config selects one of two modes: set WebhookURL for an incoming webhook,
// or Token and Channel for a bot. WebhookURL and Token are secrets: in the
// config file they are webhook_url_file / token_file or ${ENV}, resolved by
// the loader, and they print as <redacted>.
type Config struct {
	// WebhookURL is an incoming webhook, https://hooks.slack.com/services/…
	// Anyone holding it can post to the channel, so it is a secret.
	WebhookURL notify.Secret `yaml:"webhook_url" json:"-"`
	// Token is a bot token (xoxb-…) with the chat:write scope.
	Token notify.Secret `yaml:"token" json:"-"`
	// Channel is the channel ID (C…) or #name the bot posts to.
	Channel string `yaml:"channel" json:"channel,omitempty"`
	// APIURL is the Web API base, default https://slack.com. Point it at a
	// local receiver or a proxy; "/api/" and the method name are appended.
	APIURL string `yaml:"api_url" json:"api_url,omitempty"`
	// Timeout bounds each HTTP exchange; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Mode names what a Config does: "webhook" or "bot".
func (c Config) Mode() string {
	if c.Token != "" {
		return "bot"
	}
	return "webhook"
}

// String adds the mode and hides a password in api_url; the secrets
// print as <redacted> on their own.
func (c Config) String() string {
	return fmt.Sprintf("{mode:%s webhook_url:%s token:%s channel:%s api_url:%s timeout:%s}",
		c.Mode(), c.WebhookURL, c.Token, c.Channel, notify.RedactURL(c.APIURL), c.Timeout)
}

// GoString is String for %#v.
func (c Config) GoString() string { return "slack.Config" + c.String() }

// LogValue is String's fields for structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("mode", c.Mode()),
		slog.String("channel", c.Channel),
		slog.String("api_url", notify.RedactURL(c.APIURL)),
		slog.Duration("timeout", c.Timeout),
	)
}

// Validate checks c as New would, judging empty fields as their defaults,
// and reports field.Errors with paths relative to the channel's block.
// Messages name fields, never their secret values.
func (c Config) Validate() error {
	c = c.fill()
	var errs field.Errors
	switch {
	case c.WebhookURL != "" && c.Token != "":
		errs.Add("", "sets both webhook_url and token: use webhook_url for an incoming webhook, or token with channel for a bot")
	case c.WebhookURL == "" && c.Token == "":
		errs.Add("", "needs webhook_url_file (incoming webhook) or token_file with channel (bot)")
	case c.Token != "" && c.Channel == "":
		errs.Add("channel", "is required with a bot token: the channel the bot posts to, e.g. #incidents")
	case c.WebhookURL != "" && !isHTTPURL(c.WebhookURL.Reveal()):
		errs.Add("webhook_url", "is not an absolute http(s) URL")
	}
	if !isHTTPURL(c.APIURL) {
		errs.Add("api_url", "must be an absolute http(s) URL such as %s, not %q", DefaultAPIURL, notify.RedactURL(c.APIURL))
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	return errs.Err()
}

func (c Config) fill() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// withDefaults checks c and fills its zero values.
func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("slack: %w", err)
	}
	return c.fill(), nil
}

// Option adjusts a Notifier beyond its Config.
type Option func(*Notifier)

// WithState gives bot mode somewhere to keep each incident's message ts so
// later updates edit it; the daemon passes its store-backed State. Bot mode
// requires it; webhook mode ignores it.
func WithState(s notify.State) Option { return func(n *Notifier) { n.handles.State = s } }

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
