package otlp

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/internal/remote"
)

// Defaults of the receiver.
const (
	DefaultListen       = "127.0.0.1:4318"
	DefaultMaxBodyBytes = 8 << 20
	DefaultMaxSeries    = 2000
	// DefaultVersionAttribute is where the version is read from: the
	// resource attribute first, then the data point's.
	DefaultVersionAttribute = "service.version"
)

// Config is the receiver: where OTLP arrives and how much it accepts. One
// per daemon (suggested key: signals.otlp at the top level of the file).
type Config struct {
	// Listen is the HTTP listener (POST /v1/metrics). Default 127.0.0.1:4318.
	Listen string `yaml:"listen"`
	// GRPCListen is the gRPC listener (the OTLP MetricsService); empty: none.
	GRPCListen string `yaml:"grpc_listen"`
	// TokenFile holds the bearer token exporters must send
	// (Authorization: Bearer …), an absolute path. Required when a
	// listener is not on a loopback address.
	TokenFile string `yaml:"token_file"`
	// MaxBodyBytes bounds one request after decompression. Default 8 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxSeries bounds the raw series kept per service version (one per
	// process and attribute set); points of further series are dropped and
	// counted. Default 2000.
	MaxSeries int `yaml:"max_series"`
	// Staleness is how long a metric may go without an export before it
	// reads as no data. Default (0): three times the longest recent gap
	// between exports, at least 5s; 2m before the second export.
	Staleness time.Duration `yaml:"staleness"`
}

// WithDefaults fills the fields left empty.
func (c Config) WithDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxSeries == 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	return c
}

// Validate checks the receiver's config without binding anything. Empty
// fields are judged as their defaults. Errors name the field and never
// contain the token.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	loopback := true
	for _, l := range []struct{ name, addr string }{{"listen", c.Listen}, {"grpc_listen", c.GRPCListen}} {
		if l.addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(l.addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: want host:port such as 127.0.0.1:4318, got %q", l.name, l.addr))
			continue
		}
		loopback = loopback && isLoopback(host)
	}
	if _, port, _ := net.SplitHostPort(c.Listen); c.Listen == c.GRPCListen && port != "0" {
		errs = append(errs, fmt.Errorf("grpc_listen: is the same address as listen (%s): give gRPC its own port, e.g. 4317", c.Listen))
	}
	switch {
	case c.TokenFile != "":
		if _, err := remote.ReadSecret(c.TokenFile); err != nil {
			errs = append(errs, fmt.Errorf("token_file: %w", err))
		}
	case !loopback:
		errs = append(errs, errors.New("token_file: is required when a listener is not on a loopback address, or anyone who can reach it could feed ripcord the data that decides rollbacks: create a file holding a long random token and set token_file to its absolute path"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_body_bytes: must be at least 1024 (default %d), got %d", DefaultMaxBodyBytes, c.MaxBodyBytes))
	}
	if c.MaxSeries < 1 {
		errs = append(errs, fmt.Errorf("max_series: must be positive (default %d), got %d", DefaultMaxSeries, c.MaxSeries))
	}
	if c.Staleness < 0 {
		errs = append(errs, fmt.Errorf("staleness: must not be negative (0 means automatic), got %s", c.Staleness))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServiceConfig maps one ripcord service's OTLP data to its metrics
// (suggested key: services[].signals.otlp).
type ServiceConfig struct {
	// ServiceName is the resource attribute service.name the data carries.
	// Default: the ripcord service's name.
	ServiceName string `yaml:"service_name"`
	// VersionAttribute names the attribute that holds the version, looked
	// up on the resource and then on each data point. Default
	// service.version.
	VersionAttribute string `yaml:"version_attribute"`
	// Metrics maps a ripcord metric to the instrument and attributes it is
	// read from. Default: DefaultMappings (HTTP server semantic
	// conventions, GenAI time to first token, GPU hardware metrics). A map
	// given here replaces the defaults wholesale.
	Metrics map[string]Mapping `yaml:"metrics"`
}

// Mapping picks the data points of one metric.
type Mapping struct {
	// Instrument is the OTLP metric name, e.g. http.server.request.duration.
	Instrument string `yaml:"instrument"`
	// Where filters the points (all must match): attribute → condition.
	Where map[string]string `yaml:"where"`
	// Bad marks, for a rate metric, the points that count as bad (any
	// condition matching): http.response.status_code: ">=500".
	Bad map[string]string `yaml:"bad"`
	// Scale converts the instrument's values to the metric's unit. Default:
	// from the instrument's unit for *_ms metrics (s → 1000, ms → 1), 1
	// otherwise.
	Scale float64 `yaml:"scale"`
	// Aggregate combines the series of a gauge: mean (default), max or sum.
	Aggregate string `yaml:"aggregate"`
}

// Instrument names of the semantic conventions the defaults use.
const (
	HTTPServerDuration = "http.server.request.duration"
	GenAITimeToFirst   = "gen_ai.server.time_to_first_token"
	GPUUtilization     = "hw.gpu.utilization"
	GPUMemoryUsage     = "hw.gpu.memory.usage"
)

// DefaultMappings returns the mappings a service gets when it sets none.
// Errors are what the HTTP semantic conventions mark as errors: a 5xx
// status, or error.type set (a failure before any status was sent).
func DefaultMappings() map[string]Mapping {
	errs := map[string]string{"http.response.status_code": ">=500", "error.type": "*"}
	return map[string]Mapping{
		signal.ErrorRate:      {Instrument: HTTPServerDuration, Bad: errs},
		signal.HTTP5xxRate:    {Instrument: HTTPServerDuration, Bad: map[string]string{"http.response.status_code": ">=500"}},
		signal.LatencyP50:     {Instrument: HTTPServerDuration},
		signal.LatencyP99:     {Instrument: HTTPServerDuration},
		signal.Throughput:     {Instrument: HTTPServerDuration},
		signal.TTFBP50:        {Instrument: GenAITimeToFirst},
		signal.TTFBP99:        {Instrument: GenAITimeToFirst},
		signal.GPUUtilization: {Instrument: GPUUtilization},
		signal.GPUMemoryBytes: {Instrument: GPUMemoryUsage, Aggregate: AggregateMax},
	}
}

// Gauge aggregations.
const (
	AggregateMean = "mean"
	AggregateMax  = "max"
	AggregateSum  = "sum"
)

// WithDefaults fills the version attribute and, when no metric is mapped,
// the default mappings. ServiceName stays empty (New uses the service's
// own name).
func (c ServiceConfig) WithDefaults() ServiceConfig {
	if c.VersionAttribute == "" {
		c.VersionAttribute = DefaultVersionAttribute
	}
	if len(c.Metrics) == 0 {
		c.Metrics = DefaultMappings()
	}
	return c
}

// Validate checks the mapping. Errors name the field: metrics.error_rate.bad.
func (c ServiceConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	for _, m := range slices.Sorted(maps.Keys(c.Metrics)) {
		if err := c.Metrics[m].validate(m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m Mapping) validate(metric string) error {
	path := "metrics." + metric
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !signal.IsKnown(metric) {
		add("%s: unknown metric %q; known metrics are %s", path, metric, strings.Join(signal.Known, ", "))
	}
	if strings.TrimSpace(m.Instrument) == "" {
		add("%s.instrument: is required: the OTLP metric name, e.g. %s", path, HTTPServerDuration)
	}
	for _, f := range []struct {
		name  string
		conds map[string]string
	}{{"where", m.Where}, {"bad", m.Bad}} {
		for _, k := range slices.Sorted(maps.Keys(f.conds)) {
			if _, err := parseCond(f.conds[k]); err != nil {
				add("%s.%s[%s]: %v", path, f.name, k, err)
			}
		}
	}
	kind := signal.KindOf(metric)
	isRate := kind == signal.KindRate
	if len(m.Bad) > 0 && !isRate {
		add("%s.bad: only rate metrics (error_rate, http_5xx_rate, ...) count bad points; remove it", path)
	}
	if isRate && len(m.Bad) == 0 {
		add("%s.bad: is required for a rate: the conditions that make a point bad, e.g. http.response.status_code: \">=500\"", path)
	}
	if m.Scale < 0 || math.IsNaN(m.Scale) || math.IsInf(m.Scale, 0) {
		add("%s.scale: must be a positive number, got %g", path, m.Scale)
	}
	switch {
	case m.Aggregate == "":
	case kind != signal.KindGauge || metric == signal.Throughput:
		add("%s.aggregate: only gauges (gpu_utilization, memory_bytes, ...) are aggregated; remove it", path)
	case m.Aggregate != AggregateMean && m.Aggregate != AggregateMax && m.Aggregate != AggregateSum:
		add("%s.aggregate: must be mean, max or sum, not %q", path, m.Aggregate)
	}
	return errors.Join(errs...)
}
