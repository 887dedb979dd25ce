package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Load reads, decodes, defaults and validates the config file at path, and
// routes each provider block to its kind in p, which decodes and validates
// it (app.Providers has every kind ripcord knows). Relative paths inside it
// (token_file, sqlite://PATH, *_file) are resolved against the file's
// directory, so the daemon behaves the same whatever directory it is started
// from. On failure the error wraps Errors listing every problem.
func Load(path string, p Providers) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: resolve its directory: %w", path, err)
	}
	cfg, err := Parse(data, dir, p)
	var errs Errors
	switch {
	case errors.As(err, &errs):
		// The count and file go on a line of their own so that each
		// problem still reads as one line.
		return nil, fmt.Errorf("config %s: %d problem(s):\n%w", path, len(errs), err)
	case err != nil:
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse is Load for bytes already in memory: strict decode (unknown keys and
// wrong types are problems), defaults for every absent key, Validate, then
// each provider block decoded and validated by its kind in p. baseDir plays
// the role of the config file's directory. Problems are returned together
// as Errors, each with its path and line, in file order.
func Parse(data []byte, baseDir string, p Providers) (*Config, error) {
	cfg := &Config{}
	d, err := decodeYAML(data, baseDir, cfg)
	if err != nil {
		return nil, err
	}
	cfg.BaseDir = baseDir
	cfg.applyDefaults(d.isSet)
	var r report
	cfg.validate(&r)
	var routed report
	cfg.route(&routed, p)
	problems := slices.Concat(d.problems, d.locate(r.list), d.locate(routed.list))
	if err := problems.Err(); err != nil {
		return nil, err
	}
	cfg.Warnings = d.locate(cfg.warnings(d.isSet))
	return cfg, nil
}

// warnings are keys that load but no longer do what they did: the
// sequential verdicts replaced them for metrics with request counts.
func (c *Config) warnings(set setFn) Errors {
	var w report
	for i := range c.Services {
		path := child(index("services", i), "policy")
		if set(child(path, "confidence"), false) {
			w.add(child(path, "confidence"), "now applies only to rates without request counts (a windowed PromQL ratio); rates with counts are judged by sequential tests whose false-rollback budget is policy.alpha (default 0.01): set alpha instead")
		}
		if set(child(path, "consecutive"), false) {
			w.add(child(path, "consecutive"), "now applies only to metrics without request counts (gauges, windowed PromQL ratios); the sequential tests need no repeat, and policy.sustain decides how long one anomaly must last to act alone")
		}
	}
	return w.list
}

// locate gives validation problems the line of their key, or of the nearest
// enclosing key when the key itself is absent. Problems at a path whose value
// already failed to decode are dropped: the decode problem says it better.
func (d *decoder) locate(problems Errors) Errors {
	out := problems[:0:0]
	for _, p := range problems {
		if d.underFailed(p.Path) {
			continue
		}
		for path := p.Path; path != "" && p.Line == 0; path = parent(path) {
			p.Line = d.lines[path]
		}
		out = append(out, p)
	}
	return out
}

func (d *decoder) underFailed(path string) bool {
	for ; path != ""; path = parent(path) {
		if d.failed[path] {
			return true
		}
	}
	return false
}

// parent strips the last element of a path: a.b[2].c → a.b[2] → a.b → a.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// SQLitePath returns the database file named by a sqlite://PATH URL, with a
// relative PATH resolved against baseDir (the config file's directory), or
// ":memory:" for sqlite://:memory:. Other schemes are errors; the URL is
// never quoted back, as a database URL may carry a password.
func (s Store) SQLitePath(baseDir string) (string, error) {
	rest, isSQLite := strings.CutPrefix(s.URL, "sqlite://")
	switch {
	case isSQLite && rest == ":memory:":
		return rest, nil
	case isSQLite && rest != "":
		if !filepath.IsAbs(rest) {
			rest = filepath.Join(baseDir, rest)
		}
		return rest, nil
	case isSQLite:
		return "", errors.New("sqlite:// needs a file path, e.g. sqlite://ripcord.db")
	case s.Kind() == StorePostgres:
		return "", errors.New("is a PostgreSQL store, not sqlite://PATH")
	default:
		return "", errors.New("must be sqlite://PATH, e.g. sqlite://ripcord.db (a relative PATH starts at the config file's directory), sqlite://:memory:, or postgres://USER:${PASSWORD_VAR}@HOST:PORT/DB")
	}
}
