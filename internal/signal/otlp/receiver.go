package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"google.golang.org/grpc"

	"github.com/ripcord/ripcord/internal/signal"
)

// Receiver accepts OTLP metrics and answers signal queries from them. It is
// a signal.Source with Expected (a controller.OptionalSource). Safe for
// concurrent use.
type Receiver struct {
	cfg      Config
	token    string
	log      *slog.Logger
	now      func() time.Time
	accept   func(service, version string) bool
	services map[string]*service // by ripcord service name
	byName   map[string]*service // by service.name
	started  time.Time

	mu       sync.Mutex
	seq      uint64
	versions map[versionKey]*version
	layouts  [][]float64
	series   int
	received uint64
	dropped  map[string]uint64

	httpSrv *http.Server
	grpcSrv *grpc.Server
	httpLn  net.Listener
	grpcLn  net.Listener
	done    sync.WaitGroup
}

// service is one ripcord service's compiled mapping.
type service struct {
	name         string
	versionAttr  string
	metrics      map[string]*mapping
	byInstrument map[string][]*mapping
	versions     int // versions kept (under Receiver.mu)
}

// mapping is a compiled Mapping.
type mapping struct {
	metric     string
	instrument string
	where, bad conds
	scale      float64
	aggregate  string
	explicit   bool // configured, so expected before any data arrives
	seen       bool // data arrived for it (under Receiver.mu)
}

var _ signal.Source = (*Receiver)(nil)

// Option configures a Receiver.
type Option func(*Receiver)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Receiver) { r.log = l } }

// WithClock sets the clock that stamps each export's arrival (tests).
func WithClock(now func() time.Time) Option { return func(r *Receiver) { r.now = now } }

// WithVersions keeps only the versions accept allows (the ones the daemon
// watches); data for any other is dropped and counted. Without it every
// version is kept, up to 16 per service.
func WithVersions(accept func(service, version string) bool) Option {
	return func(r *Receiver) { r.accept = accept }
}

// New validates the configs and returns a Receiver
// that is not yet listening (see Start). services maps a ripcord service
// name to its mapping.
func New(cfg Config, services map[string]ServiceConfig, opts ...Option) (*Receiver, error) {
	cfg = cfg.WithDefaults()
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("otlp: %w", err))
	}
	r := &Receiver{cfg: cfg, log: slog.Default(), now: time.Now, services: map[string]*service{},
		byName: map[string]*service{}, versions: map[versionKey]*version{}, dropped: map[string]uint64{}}
	for _, o := range opts {
		o(r)
	}
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, err := compile(name, services[name])
		if err == nil && r.byName[otelName(name, services[name])] != nil {
			err = fmt.Errorf("service_name: %q is already mapped to another service", otelName(name, services[name]))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("otlp: service %s: %w", name, err))
			continue
		}
		r.services[name] = svc
		r.byName[otelName(name, services[name])] = svc
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.token = cfg.Token.Reveal()
	r.started = r.now()
	return r, nil
}

func otelName(name string, c ServiceConfig) string {
	if c.ServiceName != "" {
		return c.ServiceName
	}
	return name
}

func compile(name string, c ServiceConfig) (*service, error) {
	explicit := len(c.Metrics) > 0
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	svc := &service{name: name, versionAttr: c.VersionAttribute, metrics: map[string]*mapping{}, byInstrument: map[string][]*mapping{}}
	for _, metric := range slices.Sorted(maps.Keys(c.Metrics)) {
		m := c.Metrics[metric]
		where, _ := parseConds(m.Where) // Validate parsed them already
		bad, _ := parseConds(m.Bad)
		mp := &mapping{metric: metric, instrument: m.Instrument, where: where, bad: bad, scale: m.Scale,
			aggregate: m.Aggregate, explicit: explicit}
		svc.metrics[metric] = mp
		svc.byInstrument[m.Instrument] = append(svc.byInstrument[m.Instrument], mp)
	}
	return svc, nil
}

// Consume folds one export into the state and returns how many of its
// points were refused for limits (series or versions per service), which
// the exporter is told as a partial success. Points of unmapped services,
// versions or instruments are dropped and counted, never stored.
func (r *Receiver) Consume(md pmetric.Metrics) int64 {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	in := ingest{r: r, now: now, seq: r.seq}
	in.consume(md)
	return in.rejected
}

// layout interns histogram bounds, so series with the same buckets share
// one slice. The caller holds r.mu.
func (r *Receiver) layout(b pcommon.Float64Slice) []float64 {
	for _, l := range r.layouts {
		if len(l) == b.Len() && equalBounds(l, b) {
			return l
		}
	}
	l := b.AsRaw()
	if len(r.layouts) < 64 {
		r.layouts = append(r.layouts, l)
	}
	return l
}

func equalBounds(l []float64, b pcommon.Float64Slice) bool {
	for i, v := range l {
		if b.At(i) != v {
			return false
		}
	}
	return true
}

// Expected reports whether metric of service comes from OTLP: a metric
// the service's config maps explicitly is expected from the start (its
// absence is Blind); one of the default mappings once data arrived for it,
// so a service that never exports, say, GPU metrics is not Blind on them.
func (r *Receiver) Expected(service, metric string) bool {
	svc := r.services[service]
	if svc == nil || svc.metrics[metric] == nil {
		return false
	}
	mp := svc.metrics[metric]
	if mp.explicit {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return mp.seen
}

// Read answers q from what was received: the value over [q.Since, q.At]
// and, for rates and quantiles, cumulative Counts. Every non-answer wraps
// signal.ErrNoData: nothing mapped, nothing received, no export within the
// staleness limit, no observations in the window.
func (r *Receiver) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	if err := ctx.Err(); err != nil {
		return signal.Sample{}, fmt.Errorf("otlp: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
	}
	svc := r.services[q.Service]
	if svc == nil || svc.metrics[q.Metric] == nil {
		return signal.Sample{}, fmt.Errorf("otlp: %s of %s: not mapped: %w", q.Metric, q.Service, signal.ErrNoData)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.versions[versionKey{q.Service, q.Version}]
	var a *agg
	if v != nil {
		a = v.aggs[q.Metric]
	}
	if a == nil || a.last.IsZero() {
		return signal.Sample{}, fmt.Errorf("otlp: %s of %s/%s: nothing received: %w", q.Metric, q.Service, q.Version, signal.ErrNoData)
	}
	smp, err := a.read(q, a.staleAfter(r.cfg.Staleness))
	if err != nil {
		return signal.Sample{}, fmt.Errorf("otlp: %s of %s/%s: %w", q.Metric, q.Service, q.Version, err)
	}
	return smp, nil
}

// Stats are the receiver's counters.
type Stats struct {
	Received uint64            // data points stored
	Dropped  map[string]uint64 // data points not stored, by reason (Drop*)
	Series   int               // raw series kept, over all versions
}

// Stats returns a copy of the counters.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Received: r.received, Dropped: maps.Clone(r.dropped), Series: r.series}
}
