package webhook

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	notifywebhook "github.com/ripcord/ripcord/internal/notify/webhook"
)

// DefaultTimeout bounds one revert, retries included.
const DefaultTimeout = 30 * time.Second

// maxSecretFile bounds how much of secret_file is read.
const maxSecretFile = 4 << 10

// Config is the webhook target's configuration. In YAML:
//
//	webhook:
//	  url: https://deployer.acme.internal/hooks/ripcord  # receives the POST
//	  secret_file: revert-webhook.secret  # whsec_<base64>, the signing secret
//	  timeout: 30s                        # per revert, retries included
type Config struct {
	URL string `yaml:"url"`
	// SecretFile holds the Standard Webhooks signing secret; the config
	// layer resolves it to an absolute path and the target reads it (again
	// for every revert, so a rotated secret is used at once).
	SecretFile field.File    `yaml:"secret_file"`
	Timeout    time.Duration `yaml:"timeout"`
}

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem at once, each naming its field and the
// fix. It reads nothing (New reads the secret file).
func (c Config) Validate() error {
	var errs field.Errors
	add := func(key, format string, a ...any) { errs.Add(key, format, a...) }
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url", "url is not an absolute http(s) URL: write the endpoint that performs the revert, e.g. https://deployer.internal/hooks/ripcord")
	}
	switch {
	case c.SecretFile == "":
		add("secret_file", "secret_file is required: a file holding the signing secret (create one with: echo whsec_$(head -c 32 /dev/urandom | base64) > revert-webhook.secret)")
	case !filepath.IsAbs(string(c.SecretFile)):
		add("secret_file", "secret_file %q is not absolute: relative paths are resolved against the config file's directory before the target is built", c.SecretFile)
	}
	if c.Timeout < 0 {
		add("timeout", "timeout %s is negative: use a positive duration such as 30s", c.Timeout)
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("webhook target: %w", err)
	}
	return nil
}

// readSecret reads and decodes secret_file. Errors name the file and the
// problem, never the content.
func readSecret(path string) (key []byte, raw string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("webhook target: secret_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, "", fmt.Errorf("webhook target: secret_file %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return nil, "", fmt.Errorf("webhook target: secret_file %s is over %d bytes: is it the right file?", path, maxSecretFile)
	}
	raw = strings.TrimSpace(string(b))
	key, err = notifywebhook.DecodeSecret(raw)
	if err != nil {
		return nil, "", fmt.Errorf("webhook target: secret_file %s: %w", path, err)
	}
	return key, raw, nil
}

// hostOnly reduces a URL to scheme://host: its path, query and userinfo
// may hold a token.
func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid url>"
	}
	return u.Scheme + "://" + u.Host
}
