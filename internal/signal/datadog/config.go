package datadog

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/internal/remote"
)

// Defaults and limits.
const (
	DefaultAPIURL = "https://api.datadoghq.com"
	// DefaultInterval is one request per watched version per minute. Datadog
	// stores metrics at 10s (DogStatsD) to 15s (agent checks) resolution
	// and makes them queryable after an ingestion delay of tens of seconds,
	// so reading faster than MinInterval returns the same points, and every
	// read counts against the organisation's query rate limit (see the
	// package documentation for what a fleet costs).
	DefaultInterval = time.Minute
	// MinInterval is Datadog's finest resolution: DogStatsD's flush.
	MinInterval    = 10 * time.Second
	DefaultTimeout = 10 * time.Second
)

// Reserved query keys that are not metrics: counts per rollup interval
// (queries ending in .as_count()), error_rate's sequential evidence.
const (
	KeyRequests = remote.KeyRequests
	KeyErrors   = remote.KeyErrors
)

// Config is one service's Datadog signals (suggested key:
// services[].signals.datadog).
type Config struct {
	// APIURL is the site's API, e.g. https://api.datadoghq.eu. Default
	// https://api.datadoghq.com.
	APIURL string `yaml:"api_url"`
	// APIKeyFile and AppKeyFile hold the API key and an application key
	// with the timeseries_query scope, absolute paths.
	APIKeyFile string `yaml:"api_key_file"`
	AppKeyFile string `yaml:"app_key_file"`
	// Interval is how often each watched version is queried (all its
	// queries in one request). Default 1m, at least 10s.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Queries maps a metric (or requests, errors) to a Datadog metrics
	// query with {{.Version}}, e.g. sum:trace.http.request.errors{service:checkout,version:{{.Version}}}.as_count().
	Queries map[string]string `yaml:"queries"`
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(Version|Service)\s*\}\}`)

// WithDefaults fills the empty fields.
func (c Config) WithDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate checks the config without contacting Datadog: the URL, that
// the key files can be read, every query's placeholder. Errors name the
// field and never contain a key.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		add("api_url: must be the site's API root such as https://api.datadoghq.com or https://api.datadoghq.eu, got %q", c.APIURL)
	}
	for _, f := range []struct{ name, path, what string }{{"api_key_file", c.APIKeyFile, "API key"}, {"app_key_file", c.AppKeyFile, "application key"}} {
		if f.path == "" {
			add("%s: is required: the absolute path of a file holding the %s", f.name, f.what)
		} else if _, err := remote.ReadSecret(f.path); err != nil {
			add("%s: %v", f.name, err)
		}
	}
	if c.Interval < MinInterval {
		add("interval: %s is faster than Datadog's finest data resolution (%s): reads in between return the same points and still count against the rate limit", c.Interval, MinInterval)
	}
	if c.Timeout < 0 {
		add("timeout: must not be negative (0 means the default, %s)", DefaultTimeout)
	}
	metrics := 0
	for _, k := range slices.Sorted(maps.Keys(c.Queries)) {
		q := c.Queries[k]
		switch {
		case k == KeyRequests || k == KeyErrors:
			if !strings.Contains(q, ".as_count()") {
				add("queries.%s: must end in .as_count() so Datadog returns the count per interval, not a per-second rate", k)
			}
		case signal.IsKnown(k):
			metrics++
		default:
			add("queries.%s: unknown metric; known metrics are %s (and %s, %s for counts)", k, strings.Join(signal.Known, ", "), KeyRequests, KeyErrors)
		}
		switch {
		case !placeholder.MatchString(q):
			add("queries.%s: does not use {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one", k)
		case strings.Contains(placeholder.ReplaceAllString(q, "x"), "{{"):
			add("queries.%s: only {{.Version}} and {{.Service}} can be templated", k)
		}
	}
	_, hasReq := c.Queries[KeyRequests]
	_, hasErr := c.Queries[KeyErrors]
	if hasReq != hasErr {
		add("queries: %s and %s go together (error_rate's evidence is errors out of requests); set both or neither", KeyRequests, KeyErrors)
	}
	if metrics == 0 && !hasReq {
		add("queries: at least one metric query is needed, e.g. error_rate: sum:trace.http.request.errors{service:checkout,version:{{.Version}}}.as_count() / sum:trace.http.request.hits{service:checkout,version:{{.Version}}}.as_count()")
	}
	return errors.Join(errs...)
}

// render fills a query's placeholders with tag values as Datadog stores
// them: lower case, and every character a tag cannot hold (anything but
// letters, digits and _ - : . /) turned into an underscore. That is how
// the agent normalises the version tag, so the query matches it, and it
// leaves nothing that could end the tag filter ("}", ","), add a term
// (" OR ") or widen it ("*").
func render(tmpl, service, version string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		if strings.Contains(m, "Service") {
			return tagValue(service)
		}
		return tagValue(version)
	})
}

func tagValue(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-:./", r) {
			return r
		}
		return '_'
	}, s)
}
