package web

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

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

// Config is one service's JSON endpoint (suggested key:
// services[].signals.web).
type Config struct {
	// URL is fetched once per version and interval; {{.Version}} (required)
	// and {{.Service}} are replaced by the escaped names.
	URL string `yaml:"url"`
	// Headers are sent with every request, e.g. Accept: application/json.
	Headers map[string]string `yaml:"headers"`
	// HeaderFiles are headers whose values are secrets: header name →
	// absolute path of a file holding the value (Authorization: Bearer …).
	HeaderFiles map[string]string `yaml:"header_files"`
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

// Validate checks the config without fetching anything. Errors name the
// field (url, values.error_rate, header_files.Authorization) and never
// contain a header's value.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case !placeholder.MatchString(c.URL):
		add("url: must contain {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one")
	case strings.Contains(placeholder.ReplaceAllString(c.URL, "x"), "{{"):
		add("url: only {{.Version}} and {{.Service}} can be templated")
	default:
		if u, err := url.Parse(render(c.URL, "svc", "v1")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("url: must be an absolute http(s) URL such as https://metrics.internal/api/{{.Version}}/health, got %q", c.URL)
		}
	}
	if c.Timeout < 0 || c.Interval < 0 {
		add("timeout, interval: must not be negative (0 means the default)")
	}
	metrics := 0
	for _, k := range slices.Sorted(maps.Keys(c.Values)) {
		switch {
		case k == KeyRequests || k == KeyErrors || k == KeySamples:
		case signal.IsKnown(k):
			metrics++
		default:
			add("values.%s: unknown metric; known metrics are %s (and %s, %s, %s for counters)", k, strings.Join(signal.Known, ", "), KeyRequests, KeyErrors, KeySamples)
		}
		if _, err := jsonpath.Parse(c.Values[k]); err != nil {
			add("values.%s: not a JSON path (keys and [index], e.g. errors.rate or $.data[0].value): %v", k, err)
		}
	}
	_, hasReq := c.Values[KeyRequests]
	_, hasErr := c.Values[KeyErrors]
	if hasReq != hasErr {
		add("values: %s and %s go together (error_rate's evidence is errors out of requests); set both or neither", KeyRequests, KeyErrors)
	}
	if metrics == 0 && !hasReq {
		add("values: at least one metric is needed, e.g. error_rate: errors.rate")
	}
	for _, h := range slices.Sorted(maps.Keys(c.Headers)) {
		if !validHeader(h) {
			add("headers.%s: not a valid header name", h)
		}
	}
	for _, h := range slices.Sorted(maps.Keys(c.HeaderFiles)) {
		if !validHeader(h) {
			add("header_files.%s: not a valid header name", h)
		}
		if _, err := remote.ReadSecret(c.HeaderFiles[h]); err != nil {
			add("header_files.%s: %v", h, err)
		}
	}
	return errors.Join(errs...)
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
