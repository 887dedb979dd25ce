package prometheus

import (
	"net/url"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
)

// DefaultWindow is the range {{.Window}} stands for when the config sets none.
const DefaultWindow = time.Minute

// Config is one service's Prometheus signals. See the package documentation
// for the YAML shape.
type Config struct {
	// URL of the Prometheus server, e.g. http://prometheus:9090.
	URL string `yaml:"url"`
	// Timeout bounds one Read (both its queries). Default 2s.
	Timeout time.Duration `yaml:"timeout"`
	// Window is the range {{.Window}} expands to, e.g. [1m]. Default 1m.
	Window time.Duration `yaml:"window"`
	// Job is the scrape job whose scrapes LastScrape reports.
	Job string `yaml:"job"`
	// Vars are extra template variables, the same for every version.
	Vars map[string]string `yaml:"vars"`
	// Samples is a template for the number of requests behind the values
	// over the window; it becomes Sample.Samples. Required: without it
	// every verdict would be Inconclusive (too few samples).
	Samples string `yaml:"samples"`
	// Queries maps a metric name (error_rate, latency_p99_ms, …) to a
	// PromQL template that yields one number for one version.
	Queries map[string]string `yaml:"queries"`
	// Counts maps a rate or latency metric to the raw cumulative counters
	// behind it (counts mode, see counts.go): the sequential tests are fed
	// the requests each scrape adds instead of a window that re-reports
	// the same requests on every read. A metric is under Queries or
	// Counts, not both.
	Counts map[string]Counter `yaml:"counts"`
}

// Counter names the raw counters of one metric: Total and Bad for a rate
// (every request, and the failed ones), Histogram for a latency quantile
// (the _bucket series; ripcord groups them by le itself). Templates are
// instant selectors or sums of counters, never rate() or increase().
type Counter struct {
	Total     string `yaml:"total"`
	Bad       string `yaml:"bad"`
	Histogram string `yaml:"histogram"`
	// Unit is the unit of the histogram's le label: s (default, the
	// Prometheus convention) or ms.
	Unit string `yaml:"unit"`
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	return c
}

// Validate checks everything that can be checked without contacting
// Prometheus, templates included (their syntax and that every variable
// sits inside double quotes), and reports it as field.Errors with paths
// relative to the block: url, queries.error_rate, samples.
func (c Config) Validate() error {
	var errs field.Errors
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "must be an absolute http(s) URL such as http://prometheus:9090")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative (0 means the default, %s), not %s", DefaultTimeout, c.Timeout)
	}
	if c.Window < 0 {
		errs.Add("window", "must not be negative (0 means the default, %s), not %s", DefaultWindow, c.Window)
	}
	if len(c.Queries) == 0 && len(c.Counts) == 0 {
		errs.Add("queries", `at least one metric query (or counts entry) is needed, e.g. error_rate: sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[30s])) / sum(rate(http_requests_total{version="{{.Version}}"}[30s]))`)
	}
	for m, q := range c.Queries {
		path := field.Join("queries", m)
		if !signal.IsKnown(m) {
			errs.Add(path, "unknown metric %q; known metrics are %s", m, strings.Join(signal.Known, ", "))
		}
		if strings.TrimSpace(q) != "" && !strings.Contains(q, "{{") {
			errs.Add(path, "does not use {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one")
		}
	}
	errs = append(errs, c.validateCounts()...)
	if strings.TrimSpace(c.Samples) == "" && len(c.Queries) > 0 {
		errs.Add("samples", `is required: a query for the number of requests behind the values (min_samples is judged on it), e.g. sum(increase(http_requests_total{version="{{.Version}}"}[30s]))`)
	}
	for k := range c.Vars {
		if k == VarService || k == VarVersion || k == VarWindow {
			errs.Add(field.Join("vars", k), "is a reserved name: %s, %s and %s are set by ripcord", VarService, VarVersion, VarWindow)
		}
	}
	_, _, tplErrs := c.templates()
	_, cntErrs := c.counters()
	return append(append(errs, tplErrs...), cntErrs...).Err()
}

// templates parses every query and the samples query and checks their
// quoting. A template with a problem is left out of the maps.
func (c Config) templates() (map[string]*queryTemplate, *queryTemplate, field.Errors) {
	var errs field.Errors
	parse := func(name, text string) *queryTemplate {
		q, err := parseQuery(name, text)
		if err == nil {
			err = q.checkQuoting()
		}
		if err != nil {
			errs.Add(name, "%s", strings.TrimPrefix(err.Error(), name+": "))
			return nil
		}
		return q
	}
	var queries map[string]*queryTemplate // nil without any: a map for none is ~50 bytes a service
	for _, metric := range sortedKeys(c.Queries) {
		if q := parse(field.Join("queries", metric), c.Queries[metric]); q != nil {
			if queries == nil {
				queries = map[string]*queryTemplate{}
			}
			queries[metric] = q
		}
	}
	var samples *queryTemplate
	if strings.TrimSpace(c.Samples) != "" {
		samples = parse("samples", c.Samples)
	}
	return queries, samples, errs
}
