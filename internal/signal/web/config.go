package web

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/internal/remote"
	"github.com/ripcord/ripcord/internal/signal/jsonpath"
)

// Defaults.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultInterval = 15 * time.Second
)

// Reserved keys of Values that are not metrics: cumulative counters (totals
// since the process started, as a Prometheus counter would be) and the
// number of observations behind the values.
const (
	KeyRequests = remote.KeyRequests
	KeyErrors   = remote.KeyErrors
	KeySamples  = "samples"
)

// Config is one service's JSON endpoint (key:
// services[].signals.web).
type Config struct {
	// URL is fetched once per version and interval; {{.Version}} (required)
	// and {{.Service}} are replaced by the escaped names.
	URL string `yaml:"url"`
	// Headers are sent with every request, e.g. Accept: application/json.
	Headers map[string]string `yaml:"headers"`
	// HeaderFiles are headers whose values are secrets: header name →
	// a file holding the value on one line (Authorization: Bearer …),
	// relative to the config file.
	HeaderFiles map[string]field.File `yaml:"header_files"`
	// Timeout bounds one request. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Interval is how often the endpoint is asked per version; reads in
	// between share the answer. Default 15s.
	Interval time.Duration `yaml:"interval"`
	// Values maps a metric (or requests, errors, samples) to a JSON path
	// into the answer: errors.rate, $.data[0].p99, ...
	Values map[string]string `yaml:"values"`
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(Version|Service)\s*\}\}`)

// WithDefaults fills Timeout and Interval.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	return c
}

// Validate checks the config without fetching anything. Problems are
// field.Errors at paths relative to the block (url, values.error_rate,
// header_files.Authorization) and never contain a header's value.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs field.Errors
	switch {
	case !placeholder.MatchString(c.URL):
		errs.Add("url", "must contain {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one; e.g. https://metrics.internal/api/checkout/{{.Version}}/health")
	case strings.Contains(placeholder.ReplaceAllString(c.URL, "x"), "{{"):
		errs.Add("url", "only {{.Version}} and {{.Service}} can be templated")
	default:
		if u, err := url.Parse(render(c.URL, "svc", "v1")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add("url", "must be an absolute http(s) URL such as https://metrics.internal/api/{{.Version}}/health, got %q", c.URL)
		}
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative (0 means the default, %s)", DefaultTimeout)
	}
	if c.Interval < 0 {
		errs.Add("interval", "must not be negative (0 means the default, %s)", DefaultInterval)
	}
	metrics := 0
	for _, k := range slices.Sorted(maps.Keys(c.Values)) {
		path := field.Join("values", k)
		switch {
		case k == KeyRequests || k == KeyErrors || k == KeySamples:
		case signal.IsKnown(k):
			metrics++
		default:
			errs.Add(path, "unknown metric; known metrics are %s (and %s, %s, %s for counters)", strings.Join(signal.Known, ", "), KeyRequests, KeyErrors, KeySamples)
		}
		if _, err := jsonpath.Parse(c.Values[k]); err != nil {
			errs.Add(path, "not a JSON path (keys and [index], e.g. errors.rate or $.data[0].value): %v", err)
		}
	}
	_, hasReq := c.Values[KeyRequests]
	_, hasErr := c.Values[KeyErrors]
	if hasReq != hasErr {
		errs.Add("values", "%s and %s go together (error_rate's evidence is errors out of requests); set both or neither", KeyRequests, KeyErrors)
	}
	if metrics == 0 && !hasReq {
		errs.Add("values", "at least one metric is needed, e.g. error_rate: errors.rate")
	}
	for _, h := range slices.Sorted(maps.Keys(c.Headers)) {
		if !validHeader(h) {
			errs.Add(field.Join("headers", h), "not a valid header name")
		}
	}
	for _, h := range slices.Sorted(maps.Keys(c.HeaderFiles)) {
		if !validHeader(h) {
			errs.Add(field.Join("header_files", h), "not a valid header name")
		}
		if _, err := remote.ReadSecret(string(c.HeaderFiles[h])); err != nil {
			errs.Add(field.Join("header_files", h), "%v", err)
		}
	}
	return errs.Err()
}

func validHeader(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// render fills the URL's placeholders, escaping each name for where it
// stands: a path segment (or host) before the '?', a query value after.
func render(tmpl, service, version string) string {
	q := strings.IndexByte(tmpl, '?')
	var b strings.Builder
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(tmpl, -1) {
		b.WriteString(tmpl[last:m[0]])
		v := version
		if tmpl[m[2]:m[3]] == "Service" {
			v = service
		}
		if q >= 0 && m[0] > q {
			b.WriteString(url.QueryEscape(v))
		} else {
			b.WriteString(url.PathEscape(v))
		}
		last = m[1]
	}
	b.WriteString(tmpl[last:])
	return b.String()
}
