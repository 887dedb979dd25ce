package cloudwatch

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
)

// Defaults.
const (
	// DefaultInterval matches CloudWatch's standard resolution: a metric
	// gets one data point per minute, so reading faster returns the same
	// points and is billed per metric all the same.
	DefaultInterval = time.Minute
	DefaultPeriod   = time.Minute
	DefaultTimeout  = 10 * time.Second
)

// Reserved metric keys that are not ripcord metrics: request and error
// counts per period (stat Sum), error_rate's sequential evidence.
const (
	KeyRequests = remote.KeyRequests
	KeyErrors   = remote.KeyErrors
)

// Config is one service's CloudWatch signals (suggested key:
// services[].signals.cloudwatch). Credentials come from the standard AWS
// chain (environment, shared files, SSO, web identity, instance role).
type Config struct {
	// Region, e.g. eu-west-1. Default: the chain's (AWS_REGION, profile).
	Region string `yaml:"region"`
	// Endpoint overrides the service endpoint (a VPC endpoint, a test).
	Endpoint string `yaml:"endpoint"`
	// Interval is how often each watched version is queried (every metric
	// in one GetMetricData call). Default 1m.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one call. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Metrics maps a ripcord metric (or requests, errors) to a CloudWatch
	// metric whose dimensions name the version.
	Metrics map[string]Metric `yaml:"metrics"`
}

// Metric is one CloudWatch metric and statistic.
type Metric struct {
	Namespace string `yaml:"namespace"` // AWS/ApplicationELB, a custom namespace
	Name      string `yaml:"name"`      // HTTPCode_Target_5XX_Count, TargetResponseTime
	Stat      string `yaml:"stat"`      // Sum, Average, p99, ...
	// Dimensions name → value; at least one value holds {{.Version}}.
	Dimensions map[string]string `yaml:"dimensions"`
	// Period of each data point: a multiple of 60s, or 1/5/10/30s for
	// high-resolution metrics. Default 1m.
	Period time.Duration `yaml:"period"`
	// Scale multiplies the values into the metric's unit (1000 for a
	// latency CloudWatch reports in seconds). Default 1.
	Scale float64 `yaml:"scale"`
}

var (
	placeholder = regexp.MustCompile(`\{\{\s*\.(Version|Service)\s*\}\}`)
	statRE      = regexp.MustCompile(`^(SampleCount|Average|Sum|Minimum|Maximum|IQM|(p|tm|wm|tc|ts|TM|WM|TC|TS|PR)\(?[0-9.:%]*\)?)$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// WithDefaults fills the empty fields.
func (c Config) WithDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	ms := make(map[string]Metric, len(c.Metrics))
	for k, m := range c.Metrics {
		if m.Period == 0 {
			m.Period = DefaultPeriod
		}
		if m.Scale == 0 {
			m.Scale = 1
		}
		ms[k] = m
	}
	c.Metrics = ms
	return c
}

// Validate checks the config without calling AWS. Errors name the field.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		add("region: %q is not an AWS region such as us-east-1", c.Region)
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("endpoint: must be an absolute http(s) URL such as https://monitoring.eu-west-1.amazonaws.com, got %q", c.Endpoint)
		}
	}
	if c.Interval < time.Second || c.Timeout < 0 {
		add("interval: must be at least 1s (default %s); timeout must not be negative", DefaultInterval)
	}
	metrics := 0
	for _, k := range slices.Sorted(maps.Keys(c.Metrics)) {
		m, path := c.Metrics[k], "metrics."+k
		switch {
		case k == KeyRequests || k == KeyErrors:
			if m.Stat != "Sum" {
				add("%s.stat: must be Sum: the count of each period is the evidence", path)
			}
		case signal.IsKnown(k):
			metrics++
		default:
			add("%s: unknown metric; known metrics are %s (and %s, %s for counts)", path, strings.Join(signal.Known, ", "), KeyRequests, KeyErrors)
		}
		errs = append(errs, m.validate(path, c.Interval)...)
	}
	_, hasReq := c.Metrics[KeyRequests]
	_, hasErr := c.Metrics[KeyErrors]
	if hasReq != hasErr {
		add("metrics: %s and %s go together (error_rate's evidence is errors out of requests); set both or neither", KeyRequests, KeyErrors)
	}
	if metrics == 0 && !hasReq {
		add("metrics: at least one metric is needed, e.g. latency_p99_ms: {namespace: AWS/ApplicationELB, name: TargetResponseTime, stat: p99, scale: 1000, dimensions: {TargetGroup: \"targetgroup/checkout-{{.Version}}/0123456789abcdef\", LoadBalancer: app/shop/0123456789abcdef}}")
	}
	return errors.Join(errs...)
}

func (m Metric) validate(path string, interval time.Duration) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.Namespace == "" || m.Name == "" {
		add("%s: namespace and name are required, e.g. namespace: AWS/ApplicationELB, name: RequestCount", path)
	}
	if !statRE.MatchString(m.Stat) {
		add("%s.stat: %q is not a CloudWatch statistic (Sum, Average, Minimum, Maximum, SampleCount, p99, tm90, ...)", path, m.Stat)
	}
	versioned := false
	for _, name := range slices.Sorted(maps.Keys(m.Dimensions)) {
		v := m.Dimensions[name]
		if name == "" || len(name) > 255 {
			add("%s.dimensions: a dimension name must have 1 to 255 characters", path)
		}
		if strings.Contains(placeholder.ReplaceAllString(v, "x"), "{{") {
			add("%s.dimensions.%s: only {{.Version}} and {{.Service}} can be templated", path, name)
		}
		for _, ph := range placeholder.FindAllStringSubmatch(v, -1) {
			versioned = versioned || ph[1] == "Version"
		}
	}
	if !versioned {
		add("%s.dimensions: no dimension value uses {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one", path)
	}
	if len(m.Dimensions) > 30 {
		add("%s.dimensions: CloudWatch allows at most 30", path)
	}
	p := m.Period
	if p%time.Minute != 0 && p != time.Second && p != 5*time.Second && p != 10*time.Second && p != 30*time.Second {
		add("%s.period: must be a multiple of 60s, or 1s, 5s, 10s or 30s for high-resolution metrics, not %s", path, p)
	}
	if interval < p {
		add("%s.period: %s is longer than the interval (%s): reads in between would return the same point", path, p, interval)
	}
	if m.Scale < 0 {
		add("%s.scale: must be positive", path)
	}
	return errs
}

// render fills a dimension value's placeholders. CloudWatch takes the
// value as a plain API parameter, so no escaping is needed: it can only
// ever match a dimension with exactly that value.
func render(tmpl, service, version string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		if strings.Contains(m, "Service") {
			return service
		}
		return version
	})
}
