package mlflow

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
)

// Defaults.
const (
	// DefaultTimeout bounds one operation (a revert with its checks and
	// read-back, a status read, a listing), retries included.
	DefaultTimeout = 30 * time.Second
	// DefaultPollInterval is how often Watch reads the alias.
	DefaultPollInterval = 15 * time.Second
)

// reservedAlias is what MLflow refuses as an alias name: "latest" and
// version references such as v3.
var reservedAlias = regexp.MustCompile(`(?i)^(latest|v[0-9]+)$`)

// Config is the MLflow target's configuration. In YAML:
//
//	mlflow:
//	  url: https://mlflow.acme.internal  # the tracking server, without /api
//	  model: summarizer                  # the registered model
//	  alias: champion                    # the alias the model server loads
//	  token_file: mlflow.token           # optional: a bearer token
//	  timeout: 30s                       # per operation, retries included
//	  poll_interval: 15s                 # how often the alias is read for outside moves
type Config struct {
	URL   string `yaml:"url"`
	Model string `yaml:"model"`
	Alias string `yaml:"alias"`
	// TokenFile holds the bearer token; the config layer resolves it to an
	// absolute path and the target reads it (again for every call, so a
	// rotated token is picked up). Empty: no Authorization header.
	TokenFile field.File    `yaml:"token_file"`
	Timeout   time.Duration `yaml:"timeout"`
	// PollInterval is how often the alias is read to notice a version set
	// outside ripcord (a deploy to watch); default 15s.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	c.URL = strings.TrimRight(c.URL, "/")
	return c
}

// Validate reports every problem at once, each naming its field and the
// fix. It reads nothing (New reads the token file).
func (c Config) Validate() error {
	var errs field.Errors
	add := func(key, format string, a ...any) { errs.Add(key, format, a...) }
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url", "url is not an absolute http(s) URL: write the tracking server's address, e.g. https://mlflow.acme.internal")
	} else if u.User != nil {
		add("url", "url carries credentials: remove them and put the token in token_file")
	} else if strings.Contains(u.Path, "/api/2.0") {
		add("url", "url %s includes /api/2.0: give the server's base address, ripcord adds the API path", u.Redacted())
	}
	switch {
	case c.Model == "":
		add("model", "model is required: the registered model's name")
	case strings.ContainsAny(c.Model, "'\x00"):
		add("model", "model %q holds a quote or NUL, which the model-versions search filter cannot express", c.Model)
	}
	switch {
	case c.Alias == "":
		add("alias", "alias is required: the alias your model server loads (models:/%s@ALIAS), e.g. champion", c.Model)
	case reservedAlias.MatchString(c.Alias):
		add("alias", "alias %q is reserved by MLflow (latest and v<number> name versions): use an alias such as champion", c.Alias)
	}
	if c.TokenFile != "" && !filepath.IsAbs(string(c.TokenFile)) {
		add("token_file", "token_file %q is not absolute: relative paths are resolved against the config file's directory before the target is built", c.TokenFile)
	}
	if c.Timeout < 0 {
		add("timeout", "timeout %s is negative: use a positive duration such as 30s", c.Timeout)
	}
	if c.PollInterval < 0 {
		add("poll_interval", "poll_interval %s is negative: use a positive duration such as 15s", c.PollInterval)
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("mlflow target: %w", err)
	}
	return nil
}
