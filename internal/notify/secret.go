package notify

import (
	"net/url"

	"github.com/ripcord/ripcord/internal/config/field"
)

// Secret is field.Secret: a credential that prints, logs and marshals as
// "<redacted>". The config loader resolves it from NAME_file or ${ENV}; the
// name stays here because every channel's Config spells it notify.Secret.
type Secret = field.Secret

// CheckBaseURL adds a problem at path unless raw is an absolute http(s)
// URL without credentials in it; instead names the keys that hold them.
// The URL is never quoted: it may carry exactly those credentials.
func CheckBaseURL(errs *field.Errors, path, raw, instead string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs.Add(path, "must be an absolute http or https URL")
	case u.User != nil:
		errs.Add(path, "must not contain credentials; use %s", instead)
	}
}
