package otlp

import (
	"maps"
	"math"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
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
// per daemon (key: signals.otlp at the top level of the file).
type Config struct {
	// Listen is the HTTP listener (POST /v1/metrics). Default 127.0.0.1:4318.
	Listen string `yaml:"listen"`
	// GRPCListen is the gRPC listener (the OTLP MetricsService); empty: none.
	GRPCListen string `yaml:"grpc_listen"`
	// Token is the bearer token exporters must send (Authorization:
	// Bearer …); the file gives token_file: PATH (relative to the config
	// file) or token: ${ENV}. Required when a listener is not on a
	// loopback address.
	Token field.Secret `yaml:"token"`
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
// fields are judged as their defaults. Problems are field.Errors at paths
// relative to the block (listen, token) and never contain the token.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs field.Errors
	loopback := true
	for _, l := range []struct{ name, addr string }{{"listen", c.Listen}, {"grpc_listen", c.GRPCListen}} {
		if l.addr == "" {
			continue
		}
		host, _, err := net.SplitHostPort(l.addr)
		if err != nil {
			errs.Add(l.name, "want host:port such as 127.0.0.1:4318, got %q", l.addr)
			continue
		}
		loopback = loopback && isLoopback(host)
	}
	if _, port, _ := net.SplitHostPort(c.Listen); c.Listen == c.GRPCListen && port != "0" {
		errs.Add("grpc_listen", "is the same address as listen (%s): give gRPC its own port, e.g. 4317", c.Listen)
	}
	if c.Token == "" && !loopback {
		errs.Add("token", "is required when a listener is not on a loopback address, or anyone who can reach it could feed ripcord the data that decides rollbacks: create a file holding a long random token and set token_file: PATH (or token: ${ENV_VAR})")
	}
	if c.MaxBodyBytes < 1024 {
		errs.Add("max_body_bytes", "must be at least 1024 (default %d), got %d", DefaultMaxBodyBytes, c.MaxBodyBytes)
	}
	if c.MaxSeries < 1 {
		errs.Add("max_series", "must be positive (default %d), got %d", DefaultMaxSeries, c.MaxSeries)
	}
	if c.Staleness < 0 {
		errs.Add("staleness", "must not be negative (0 means automatic), got %s", c.Staleness)
	}
	return errs.Err()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServiceConfig maps one ripcord service's OTLP data to its metrics
// (key: services[].signals.otlp).
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

// Validate checks the mapping. Problems are field.Errors at paths
// relative to the block: metrics.error_rate.bad.
func (c ServiceConfig) Validate() error {
	c = c.WithDefaults()
	var errs field.Errors
	for _, m := range slices.Sorted(maps.Keys(c.Metrics)) {
		c.Metrics[m].validate(&errs, m)
	}
	return errs.Err()
}

func (m Mapping) validate(errs *field.Errors, metric string) {
	path := field.Join("metrics", metric)
	if !signal.IsKnown(metric) {
		errs.Add(path, "unknown metric %q; known metrics are %s", metric, strings.Join(signal.Known, ", "))
	}
	if strings.TrimSpace(m.Instrument) == "" {
		errs.Add(field.Join(path, "instrument"), "is required: the OTLP metric name, e.g. %s", HTTPServerDuration)
	}
	for _, f := range []struct {
		name  string
		conds map[string]string
	}{{"where", m.Where}, {"bad", m.Bad}} {
		for _, k := range slices.Sorted(maps.Keys(f.conds)) {
			if _, err := parseCond(f.conds[k]); err != nil {
				errs.Add(field.Join(path, f.name+"["+k+"]"), "%v", err)
			}
		}
	}
	kind := signal.KindOf(metric)
	isRate := kind == signal.KindRate
	if len(m.Bad) > 0 && !isRate {
		errs.Add(field.Join(path, "bad"), "only rate metrics (error_rate, http_5xx_rate, ...) count bad points; remove it")
	}
	if isRate && len(m.Bad) == 0 {
		errs.Add(field.Join(path, "bad"), "is required for a rate: the conditions that make a point bad, e.g. http.response.status_code: \">=500\"")
	}
	if m.Scale < 0 || math.IsNaN(m.Scale) || math.IsInf(m.Scale, 0) {
		errs.Add(field.Join(path, "scale"), "must be a positive number, got %g", m.Scale)
	}
	switch {
	case m.Aggregate == "":
	case kind != signal.KindGauge || metric == signal.Throughput:
		errs.Add(field.Join(path, "aggregate"), "only gauges (gpu_utilization, memory_bytes, ...) are aggregated; remove it")
	case m.Aggregate != AggregateMean && m.Aggregate != AggregateMax && m.Aggregate != AggregateSum:
		errs.Add(field.Join(path, "aggregate"), "must be mean, max or sum, not %q", m.Aggregate)
	}
}
