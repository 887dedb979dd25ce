package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Store kinds, chosen by the URL's scheme.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// Kind is the store a config selects: postgres for a postgres:// or
// postgresql:// URL, a url_file, or a url that is one ${ENV} reference
// naming such a URL; sqlite otherwise.
func (s Store) Kind() string {
	if s.URLFile != "" || isPostgresURL(s.URL) || envRef.MatchString(s.URL) {
		return StorePostgres
	}
	return StoreSQLite
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// anyEnvRef finds ${NAME} references inside a URL.
var anyEnvRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// PostgresURL resolves a PostgreSQL store's URL: read from url_file
// (relative to baseDir), or url with each ${NAME} replaced by the
// environment variable (a reference in the password is URL-escaped, so any
// password works). A password written into the file itself is refused, so
// the config can be shared and printed. The result is a secret: errors here
// never contain it, and callers must not print it (use Display).
func (s Store) PostgresURL(baseDir string) (string, error) {
	if s.URLFile != "" {
		if s.URL != "" && s.URL != DefaultStoreURL {
			return "", errors.New("sets both url and url_file: keep exactly one")
		}
		name := resolvePath(baseDir, s.URLFile)
		raw, err := readSecret(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("url file %s does not exist: create it with the postgres:// URL on one line, or fix the path (relative paths start at the config file's directory)", name)
		case err != nil:
			return "", err
		case !isPostgresURL(raw):
			return "", fmt.Errorf("url file %s must hold a postgres://USER:PASSWORD@HOST:PORT/DB URL", name)
		}
		return raw, nil
	}
	if m := envRef.FindStringSubmatch(s.URL); m != nil {
		raw := os.Getenv(m[1])
		if raw == "" {
			return "", fmt.Errorf("environment variable %s is not set or is empty: export the postgres:// URL in it, or use url_file", m[1])
		}
		if !isPostgresURL(raw) {
			return "", fmt.Errorf("environment variable %s must hold a postgres://USER:PASSWORD@HOST:PORT/DB URL", m[1])
		}
		return raw, nil
	}
	return expandPostgresURL(s.URL)
}

// expandPostgresURL replaces ${NAME} references, refusing an inline
// password (in the userinfo or a password= parameter).
func expandPostgresURL(raw string) (string, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, host := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, host = authority[:i], authority[i+1:]
	}
	user, pw, hasPW := strings.Cut(userinfo, ":")
	const fix = "write the password as an environment reference, postgres://USER:${RIPCORD_PG_PASSWORD}@HOST/DB, or put the whole URL in a file and use url_file"
	if hasPW && pw != "" && !envRef.MatchString(pw) {
		return "", errors.New("holds a password written into the config file, which is refused so the file can be shared and printed: " + fix)
	}
	if q, ok := strings.CutPrefix(tail[strings.IndexByte(tail+"?", '?'):], "?"); ok {
		for _, kv := range strings.Split(q, "&") {
			if k, v, _ := strings.Cut(kv, "="); k == "password" && !envRef.MatchString(v) {
				return "", errors.New("has a password= parameter written into the config file: " + fix)
			}
		}
	}
	var missing []string
	expand := func(text string, escape bool) string {
		return anyEnvRef.ReplaceAllStringFunc(text, func(ref string) string {
			name := anyEnvRef.FindStringSubmatch(ref)[1]
			v := os.Getenv(name)
			if v == "" {
				missing = append(missing, name)
			}
			if escape {
				return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
			}
			return v
		})
	}
	out := scheme + "://" + expand(user, false)
	if hasPW {
		out += ":" + expand(pw, true)
	}
	if userinfo != "" {
		out += "@"
	}
	out += expand(host, false) + expand(tail, true)
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set or is empty: export it before starting ripcord", strings.Join(missing, ", "))
	}
	if _, err := url.Parse(out); err != nil {
		return "", errors.New("is not a valid URL: want postgres://USER:${PASSWORD_VAR}@HOST:PORT/DB")
	}
	return out, nil
}

// Display describes the store for people (check-config, status, logs):
// the URL as written, with any password (there can only be ${ENV}
// references there, but a Go caller may set one) masked, or the url_file
// path.
func (s Store) Display() string {
	if s.URLFile != "" {
		return "postgres (url_file " + s.URLFile + ")"
	}
	if s.Kind() == StoreSQLite {
		return s.URL
	}
	scheme, rest, _ := strings.Cut(s.URL, "://")
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		if user, _, ok := strings.Cut(authority[:i], ":"); ok {
			authority = user + ":***" + authority[i:]
		}
	}
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		tail = tail[:q] + "?***"
	}
	if scheme == s.URL { // a whole-URL ${ENV} reference
		return s.URL
	}
	return scheme + "://" + authority + tail
}

// validateStore checks store.url / store.url_file; the resolved URL is
// not kept (app resolves it again when it opens the store).
func (c *Config) validateStore(r *report) {
	if c.Store.Kind() == StorePostgres {
		path := "store.url"
		if c.Store.URLFile != "" {
			path = "store.url_file"
		}
		if _, err := c.Store.PostgresURL(c.BaseDir); err != nil {
			r.add(path, "%v", err)
		}
		return
	}
	if _, err := c.Store.SQLitePath(c.BaseDir); err != nil {
		r.add("store.url", "%v", err)
	}
}
