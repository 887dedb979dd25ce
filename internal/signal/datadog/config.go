package datadog

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ripcord/ripcord/internal/config/field"
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

// Config is one service's Datadog signals (key:
// services[].signals.datadog).
type Config struct {
	// APIURL is the site's API, e.g. https://api.datadoghq.eu. Default
	// https://api.datadoghq.com.
	APIURL string `yaml:"api_url"`
	// APIKey and AppKey are the API key and an application key with the
	// timeseries_query scope; the file gives api_key_file: PATH (relative
	// to the config file) or api_key: ${ENV}, and the loader reads them.
	APIKey field.Secret `yaml:"api_key"`
	AppKey field.Secret `yaml:"app_key"`
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
// both keys are set, every query's placeholder. Problems are field.Errors
// at paths relative to the block (queries.error_rate) and never contain a
// key.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs field.Errors
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		errs.Add("api_url", "must be the site's API root such as https://api.datadoghq.com or https://api.datadoghq.eu, got %q", c.APIURL)
	}
	if c.APIKey == "" {
		errs.MissingSecret("api_key")
	}
	if c.AppKey == "" {
		errs.Add("app_key", "is required: an application key with the timeseries_query scope; set app_key_file: PATH (a file holding it) or app_key: ${ENV_VAR}")
	}
	if c.Interval < MinInterval {
		errs.Add("interval", "%s is faster than Datadog's finest data resolution (%s): reads in between return the same points and still count against the rate limit; use at least %s (default %s)", c.Interval, MinInterval, MinInterval, DefaultInterval)
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative (0 means the default, %s)", DefaultTimeout)
	}
	metrics := 0
	for _, k := range slices.Sorted(maps.Keys(c.Queries)) {
		q, path := c.Queries[k], field.Join("queries", k)
		switch {
		case k == KeyRequests || k == KeyErrors:
			if !strings.Contains(q, ".as_count()") {
				errs.Add(path, "must end in .as_count() so Datadog returns the count per interval, not a per-second rate")
			}
		case signal.IsKnown(k):
			metrics++
		default:
			errs.Add(path, "unknown metric; known metrics are %s (and %s, %s for counts)", strings.Join(signal.Known, ", "), KeyRequests, KeyErrors)
		}
		switch {
		case !placeholder.MatchString(q):
			errs.Add(path, "does not use {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one; filter on the version tag, e.g. {service:checkout,version:{{.Version}}}")
		case strings.Contains(placeholder.ReplaceAllString(q, "x"), "{{"):
			errs.Add(path, "only {{.Version}} and {{.Service}} can be templated")
		}
	}
	_, hasReq := c.Queries[KeyRequests]
	_, hasErr := c.Queries[KeyErrors]
	if hasReq != hasErr {
		errs.Add("queries", "%s and %s go together (error_rate's evidence is errors out of requests); set both or neither", KeyRequests, KeyErrors)
	}
	if metrics == 0 && !hasReq {
		errs.Add("queries", "at least one metric query is needed, e.g. error_rate: sum:trace.http.request.errors{service:checkout,version:{{.Version}}}.as_count() / sum:trace.http.request.hits{service:checkout,version:{{.Version}}}.as_count()")
	}
	return errs.Err()
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
