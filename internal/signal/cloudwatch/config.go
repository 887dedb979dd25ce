package cloudwatch

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

// Config is one service's CloudWatch signals (key:
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

// Validate checks the config without calling AWS. Problems are
// field.Errors at paths relative to the block (metrics.errors.stat).
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs field.Errors
	if c.Region != "" && !regionRE.MatchString(c.Region) {
		errs.Add("region", "%q is not an AWS region such as us-east-1", c.Region)
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add("endpoint", "must be an absolute http(s) URL such as https://monitoring.eu-west-1.amazonaws.com, got %q", c.Endpoint)
		}
	}
	if c.Interval < time.Second {
		errs.Add("interval", "must be at least 1s (default %s), not %s", DefaultInterval, c.Interval)
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative (0 means the default, %s)", DefaultTimeout)
	}
	metrics := 0
	for _, k := range slices.Sorted(maps.Keys(c.Metrics)) {
		m, path := c.Metrics[k], field.Join("metrics", k)
		switch {
		case k == KeyRequests || k == KeyErrors:
			if m.Stat != "Sum" {
				errs.Add(field.Join(path, "stat"), "must be Sum: the count of each period is the evidence")
			}
		case signal.IsKnown(k):
			metrics++
		default:
			errs.Add(path, "unknown metric; known metrics are %s (and %s, %s for counts)", strings.Join(signal.Known, ", "), KeyRequests, KeyErrors)
		}
		m.validate(&errs, path, c.Interval)
	}
	_, hasReq := c.Metrics[KeyRequests]
	_, hasErr := c.Metrics[KeyErrors]
	if hasReq != hasErr {
		errs.Add("metrics", "%s and %s go together (error_rate's evidence is errors out of requests); set both or neither", KeyRequests, KeyErrors)
	}
	if metrics == 0 && !hasReq {
		errs.Add("metrics", "at least one metric is needed, e.g. latency_p99_ms: {namespace: AWS/ApplicationELB, name: TargetResponseTime, stat: p99, scale: 1000, dimensions: {TargetGroup: \"targetgroup/checkout-{{.Version}}/0123456789abcdef\", LoadBalancer: app/shop/0123456789abcdef}}")
	}
	return errs.Err()
}

func (m Metric) validate(errs *field.Errors, path string, interval time.Duration) {
	if m.Namespace == "" || m.Name == "" {
		errs.Add(path, "namespace and name are required, e.g. namespace: AWS/ApplicationELB, name: RequestCount")
	}
	if !statRE.MatchString(m.Stat) {
		errs.Add(field.Join(path, "stat"), "%q is not a CloudWatch statistic (Sum, Average, Minimum, Maximum, SampleCount, p99, tm90, ...)", m.Stat)
	}
	dims := field.Join(path, "dimensions")
	versioned := false
	for _, name := range slices.Sorted(maps.Keys(m.Dimensions)) {
		v := m.Dimensions[name]
		if name == "" || len(name) > 255 {
			errs.Add(dims, "a dimension name must have 1 to 255 characters")
		}
		if strings.Contains(placeholder.ReplaceAllString(v, "x"), "{{") {
			errs.Add(field.Join(dims, name), "only {{.Version}} and {{.Service}} can be templated")
		}
		for _, ph := range placeholder.FindAllStringSubmatch(v, -1) {
			versioned = versioned || ph[1] == "Version"
		}
	}
	if !versioned {
		errs.Add(dims, "no dimension value uses {{.Version}}: every version would get the same answer, so ripcord could not tell a bad version from a good one; put it in the dimension that names the version, e.g. TargetGroup: targetgroup/checkout-{{.Version}}/0123456789abcdef")
	}
	if len(m.Dimensions) > 30 {
		errs.Add(dims, "CloudWatch allows at most 30")
	}
	p := m.Period
	if p%time.Minute != 0 && p != time.Second && p != 5*time.Second && p != 10*time.Second && p != 30*time.Second {
		errs.Add(field.Join(path, "period"), "must be a multiple of 60s, or 1s, 5s, 10s or 30s for high-resolution metrics, not %s", p)
	}
	if interval < p {
		errs.Add(field.Join(path, "period"), "%s is longer than the interval (%s): reads in between would return the same point", p, interval)
	}
	if m.Scale < 0 {
		errs.Add(field.Join(path, "scale"), "must be positive")
	}
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
