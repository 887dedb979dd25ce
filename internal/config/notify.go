package config

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Notify configures where incidents are announced: named channels, and
// routes that send each incident to a channel when its severity is at least
// the route's minimum (the seed: Slack for minor, PagerDuty for critical).
type Notify struct {
	Channels []Channel `yaml:"channels"`
	Routes   []Route   `yaml:"routes"`
}

// Route sends incidents of at least MinSeverity to Channel.
type Route struct {
	Channel     string `yaml:"channel"`
	MinSeverity string `yaml:"min_severity"` // minor | major | critical; default minor
}

// Channel is one destination; exactly one of the kinds is set. Secrets are
// given as NAME_file: PATH or NAME: ${ENV}, as API tokens are, and resolved
// into the fields tagged yaml:"-".
type Channel struct {
	Name         string               `yaml:"name"`
	Slack        *SlackChannel        `yaml:"slack"`
	PagerDuty    *PagerDutyChannel    `yaml:"pagerduty"`
	Statuspage   *StatuspageChannel   `yaml:"statuspage"`
	Jira         *JiraChannel         `yaml:"jira"`
	GitHub       *GitHubChannel       `yaml:"github"`
	Webhook      *WebhookChannel      `yaml:"webhook"`
	Alertmanager *AlertmanagerChannel `yaml:"alertmanager"`
	Teams        *TeamsChannel        `yaml:"teams"`
	Email        *EmailChannel        `yaml:"email"`
}

// SlackChannel posts to an incoming webhook, or with a bot token to a
// channel (one message per incident, updated in place).
type SlackChannel struct {
	WebhookURLFile string        `yaml:"webhook_url_file"`
	WebhookURLEnv  string        `yaml:"webhook_url"`
	TokenFile      string        `yaml:"token_file"`
	TokenEnv       string        `yaml:"token"`
	Channel        string        `yaml:"channel"`
	APIURL         string        `yaml:"api_url"`
	Timeout        time.Duration `yaml:"timeout"`
	WebhookURL     string        `yaml:"-"`
	Token          string        `yaml:"-"`
}

// PagerDutyChannel sends Events API v2 trigger/resolve events.
type PagerDutyChannel struct {
	RoutingKeyFile string        `yaml:"routing_key_file"`
	RoutingKeyEnv  string        `yaml:"routing_key"`
	URL            string        `yaml:"url"`
	Timeout        time.Duration `yaml:"timeout"`
	RoutingKey     string        `yaml:"-"`
}

// StatuspageChannel opens and updates an Atlassian Statuspage incident.
type StatuspageChannel struct {
	APIKeyFile  string        `yaml:"api_key_file"`
	APIKeyEnv   string        `yaml:"api_key"`
	BaseURL     string        `yaml:"base_url"`
	PageID      string        `yaml:"page_id"`
	ComponentID string        `yaml:"component_id"`
	Timeout     time.Duration `yaml:"timeout"`
	APIKey      string        `yaml:"-"`
}

// JiraChannel files a Jira Cloud issue per incident and comments on updates.
type JiraChannel struct {
	BaseURL           string        `yaml:"base_url"`
	Email             string        `yaml:"email"`
	APITokenFile      string        `yaml:"api_token_file"`
	APITokenEnv       string        `yaml:"api_token"`
	Project           string        `yaml:"project"`
	IssueType         string        `yaml:"issue_type"`
	ResolveTransition string        `yaml:"resolve_transition"`
	Timeout           time.Duration `yaml:"timeout"`
	APIToken          string        `yaml:"-"`
}

// GitHubChannel files a GitHub issue per incident.
type GitHubChannel struct {
	BaseURL   string        `yaml:"base_url"`
	TokenFile string        `yaml:"token_file"`
	TokenEnv  string        `yaml:"token"`
	Owner     string        `yaml:"owner"`
	Repo      string        `yaml:"repo"`
	Timeout   time.Duration `yaml:"timeout"`
	Token     string        `yaml:"-"`
}

// WebhookChannel posts CloudEvents signed with Standard Webhooks headers.
type WebhookChannel struct {
	URL        string        `yaml:"url"`
	SecretFile string        `yaml:"secret_file"`
	SecretEnv  string        `yaml:"secret"`
	Timeout    time.Duration `yaml:"timeout"`
	Secret     string        `yaml:"-"`
}

// AlertmanagerChannel posts alerts to Prometheus Alertmanager.
type AlertmanagerChannel struct {
	URL             string        `yaml:"url"`
	BearerTokenFile string        `yaml:"bearer_token_file"`
	BearerTokenEnv  string        `yaml:"bearer_token"`
	AlertTTL        time.Duration `yaml:"alert_ttl"`
	Timeout         time.Duration `yaml:"timeout"`
	BearerToken     string        `yaml:"-"`
}

// TeamsChannel posts an Adaptive Card to a Teams workflow webhook.
type TeamsChannel struct {
	WebhookURLFile string        `yaml:"webhook_url_file"`
	WebhookURLEnv  string        `yaml:"webhook_url"`
	Timeout        time.Duration `yaml:"timeout"`
	WebhookURL     string        `yaml:"-"`
}

// EmailChannel sends mail over SMTP.
type EmailChannel struct {
	Addr         string        `yaml:"addr"`
	From         string        `yaml:"from"`
	To           []string      `yaml:"to"`
	Username     string        `yaml:"username"`
	PasswordFile string        `yaml:"password_file"`
	PasswordEnv  string        `yaml:"password"`
	TLS          string        `yaml:"tls"`
	Timeout      time.Duration `yaml:"timeout"`
	Password     string        `yaml:"-"`
}

// Kind names the channel's kind ("" when none or several are set).
func (c Channel) Kind() string {
	kinds := c.kinds()
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

func (c Channel) kinds() []string {
	var out []string
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := range t.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			out = append(out, t.Field(i).Tag.Get("yaml"))
		}
	}
	return out
}

var severities = []string{"minor", "major", "critical"}

func (n *Notify) validate(r *report, baseDir string) {
	names := map[string]bool{}
	for i := range n.Channels {
		c := &n.Channels[i]
		path := index("notify.channels", i)
		switch {
		case c.Name == "":
			r.add(field(path, "name"), "is required: routes refer to channels by name, e.g. slack-ops")
		case names[c.Name]:
			r.add(field(path, "name"), "channel name %q is used twice: names must be unique", c.Name)
		}
		names[c.Name] = true
		switch kinds := c.kinds(); len(kinds) {
		case 0:
			r.add(path, "sets no channel kind: add one of slack, pagerduty, statuspage, jira, github, webhook, alertmanager, teams, email")
		case 1:
			c.validateKind(r, path, baseDir)
		default:
			r.add(path, "sets %s: one channel has exactly one kind; split it into several channels", strings.Join(kinds, " and "))
		}
	}
	for i := range n.Routes {
		rt := &n.Routes[i]
		path := index("notify.routes", i)
		if rt.MinSeverity == "" {
			rt.MinSeverity = "minor"
		}
		if !names[rt.Channel] || rt.Channel == "" {
			r.add(field(path, "channel"), "%q is not a channel defined under notify.channels", rt.Channel)
		}
		if !slices.Contains(severities, rt.MinSeverity) {
			r.add(field(path, "min_severity"), "must be one of minor, major, critical, not %q%s", rt.MinSeverity, didYouMean(rt.MinSeverity, severities))
		}
	}
}

// validateKind checks the one kind set and resolves its secrets.
func (c *Channel) validateKind(r *report, path, baseDir string) {
	sec := func(kind, key, file, env string, required bool) string {
		return secretValue(r, field(field(path, kind), key), file, env, baseDir, required)
	}
	need := func(kind, key, v, example string) {
		if strings.TrimSpace(v) == "" {
			r.add(field(field(path, kind), key), "is required, e.g. %s", example)
		}
	}
	switch {
	case c.Slack != nil:
		s := c.Slack
		s.WebhookURL = sec("slack", "webhook_url", s.WebhookURLFile, s.WebhookURLEnv, false)
		s.Token = sec("slack", "token", s.TokenFile, s.TokenEnv, false)
		switch {
		case s.WebhookURL == "" && s.Token == "":
			r.add(field(path, "slack"), "needs webhook_url_file (incoming webhook) or token_file with channel (bot)")
		case s.Token != "":
			need("slack", "channel", s.Channel, "#incidents")
		}
	case c.PagerDuty != nil:
		c.PagerDuty.RoutingKey = sec("pagerduty", "routing_key", c.PagerDuty.RoutingKeyFile, c.PagerDuty.RoutingKeyEnv, true)
	case c.Statuspage != nil:
		s := c.Statuspage
		s.APIKey = sec("statuspage", "api_key", s.APIKeyFile, s.APIKeyEnv, true)
		need("statuspage", "page_id", s.PageID, "kctbh9vrtdwd")
	case c.Jira != nil:
		j := c.Jira
		j.APIToken = sec("jira", "api_token", j.APITokenFile, j.APITokenEnv, true)
		need("jira", "base_url", j.BaseURL, "https://example.atlassian.net")
		need("jira", "email", j.Email, "sre-bot@example.com")
		need("jira", "project", j.Project, "OPS")
	case c.GitHub != nil:
		g := c.GitHub
		g.Token = sec("github", "token", g.TokenFile, g.TokenEnv, true)
		need("github", "owner", g.Owner, "acme")
		need("github", "repo", g.Repo, "incidents")
	case c.Webhook != nil:
		c.Webhook.Secret = sec("webhook", "secret", c.Webhook.SecretFile, c.Webhook.SecretEnv, true)
		checkURL(r, field(field(path, "webhook"), "url"), c.Webhook.URL)
	case c.Alertmanager != nil:
		a := c.Alertmanager
		a.BearerToken = sec("alertmanager", "bearer_token", a.BearerTokenFile, a.BearerTokenEnv, false)
		checkURL(r, field(field(path, "alertmanager"), "url"), a.URL)
	case c.Teams != nil:
		c.Teams.WebhookURL = sec("teams", "webhook_url", c.Teams.WebhookURLFile, c.Teams.WebhookURLEnv, true)
	case c.Email != nil:
		e := c.Email
		e.Password = sec("email", "password", e.PasswordFile, e.PasswordEnv, false)
		need("email", "addr", e.Addr, "smtp.example.com:587")
		need("email", "from", e.From, "ripcord@example.com")
		if len(e.To) == 0 {
			r.add(field(field(path, "email"), "to"), "needs at least one address")
		}
	}
}

// secretValue resolves a NAME_file / NAME: ${ENV} pair. Messages name files
// and variables, never values.
func secretValue(r *report, path, file, env, baseDir string, required bool) string {
	switch {
	case file != "" && env != "":
		r.add(path, "sets both %s_file and %s: keep exactly one", lastKey(path), lastKey(path))
	case file != "":
		name := file
		if !filepath.IsAbs(name) {
			name = filepath.Join(baseDir, name)
		}
		v, err := readSecret(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.add(path+"_file", "file %s does not exist (relative paths start at the config file's directory)", name)
		case err != nil:
			r.add(path+"_file", "%v", err)
		case v == "":
			r.add(path+"_file", "file %s is empty", name)
		}
		return v
	case env != "":
		m := envRef.FindStringSubmatch(env)
		if m == nil {
			r.add(path, "must be an environment reference such as ${%s}; secrets are not accepted inline: use %s_file: PATH or %s: ${ENV}",
				strings.ToUpper(lastKey(path)), lastKey(path), lastKey(path))
			return ""
		}
		v := os.Getenv(m[1])
		if v == "" {
			r.add(path, "environment variable %s is not set or is empty", m[1])
		}
		return v
	case required:
		r.add(path, "is required: set %s_file: PATH (a file holding it) or %s: ${ENV_VAR}", lastKey(path), lastKey(path))
	}
	return ""
}

func lastKey(path string) string { return path[strings.LastIndex(path, ".")+1:] }

func checkURL(r *report, path, raw string) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.add(path, "must be an absolute http(s) URL, e.g. https://hooks.example.com/ripcord")
	}
}
