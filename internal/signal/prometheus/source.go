package prometheus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/ripcord/ripcord/internal/signal"
)

// VarsFunc returns per-version template variables, such as the image or the
// pod-template-hash a version runs as. It is called on every Read.
type VarsFunc func(service, version string) map[string]string

// Option configures a Source.
type Option func(*Source)

// WithVars adds per-version template variables.
func WithVars(f VarsFunc) Option { return func(s *Source) { s.vars = f } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// WithHTTPClient sets the HTTP client for every server.
func WithHTTPClient(hc *http.Client) Option { return func(s *Source) { s.hc = hc } }

// Source is a signal.Source (and controller.OptionalSource) over PromQL
// queries, one Config per service. Safe for concurrent use.
type Source struct {
	services []namedService // sorted by name
	vars     VarsFunc
	log      *slog.Logger
	hc       *http.Client

	mu      sync.Mutex
	samples map[[2]string]samplesEntry // (service, version) → last samples answer; nil until one
	swept   time.Time
}

// namedService is one of a Source's services: a sorted slice, not a map
// (a daemon makes a Source per service, and a map of one costs ~250
// bytes).
type namedService struct {
	name string
	svc  *service
}

// service returns the named service, or nil.
func (s *Source) service(name string) *service {
	i, ok := slices.BinarySearchFunc(s.services, name, func(ns namedService, name string) int { return strings.Compare(ns.name, name) })
	if !ok {
		return nil
	}
	return s.services[i].svc
}

type service struct {
	cfg     Config
	client  *Client
	queries map[string]*queryTemplate
	samples *queryTemplate           // nil when not configured
	counts  map[string]*countQueries // shared's: never changed
	shared  *compiledCounts
	states  []tallyOf // counts mode: a tally per version and metric, under Source.mu
}

type samplesEntry struct {
	at    time.Time
	query string
	n     int64
}

var _ signal.Source = (*Source)(nil)

// New validates every service's config, parses its templates and returns
// the Source. Errors name the service and the field.
func New(services map[string]Config, opts ...Option) (*Source, error) {
	s := &Source{services: make([]namedService, 0, len(services)), log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	var errs []error
	for _, name := range sortedKeys(services) {
		svc, err := s.compile(services[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("prometheus: service %s: %w", name, err))
			continue
		}
		s.services = append(s.services, namedService{name, svc}) // sortedKeys: in order
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Source) compile(cfg Config) (*service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	queries, samples, _ := cfg.templates() // Validate reported their problems
	counts := cfg.sharedCounters()
	c, err := sharedClient(cfg.URL, cfg.Timeout, s.hc, s.log)
	if err != nil {
		return nil, err
	}
	return &service{cfg: cfg, client: c, queries: queries, samples: samples, counts: counts.m, shared: counts}, nil
}

// Expected reports whether a query or counters are configured for metric
// of service.
func (s *Source) Expected(service, metric string) bool {
	svc := s.service(service)
	return svc != nil && (svc.queries[metric] != nil || svc.counts[metric] != nil)
}

// Read runs the metric's query for q.Version at q.At, and the samples query
// beside it, within the service's timeout. Every non-answer wraps
// signal.ErrNoData; a missing samples answer is Samples 0, which the
// detector judges Inconclusive (too few samples), never Degraded.
//
// A metric in counts mode is read from its counters instead (see
// readCounts): one query, and Counts for the sequential tests.
func (s *Source) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	return s.read(ctx, q, time.Time{}, nil)
}

// read is Read for the newest scrape known to a Gated (zero: none), which
// hub's batch (nil: none) may have read the counters for already.
func (s *Source) read(ctx context.Context, q signal.Query, scrape time.Time, hub *Hub) (signal.Sample, error) {
	svc := s.service(q.Service)
	ok := svc != nil
	if ok && svc.counts[q.Metric] != nil {
		return s.readCounts(ctx, svc, svc.counts[q.Metric], q, scrape, hub)
	}
	if !ok || svc.queries[q.Metric] == nil {
		return signal.Sample{}, fmt.Errorf("prometheus: %s of %s: not configured: %w", q.Metric, q.Service, signal.ErrNoData)
	}
	vars := s.varsFor(svc, q)
	query, err := svc.queries[q.Metric].render(vars, svc.cfg.Window)
	if err != nil {
		return signal.Sample{}, fmt.Errorf("prometheus: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
	}
	ctx, cancel := context.WithTimeout(ctx, svc.cfg.Timeout)
	defer cancel()
	count := make(chan int64, 1)
	go func() { count <- s.sampleCount(ctx, svc, q, vars) }()
	v, err := svc.client.Value(ctx, query, q.At)
	if err != nil {
		cancel()
		<-count
		return signal.Sample{}, fmt.Errorf("%s of %s/%s: %w", q.Metric, q.Service, q.Version, err) // err starts "prometheus: "
	}
	return signal.Sample{Value: v, Samples: <-count, Window: svc.cfg.Window, At: q.At}, nil
}

// varsFor merges config vars, per-version vars and the reserved ones; the
// reserved ones win.
func (s *Source) varsFor(svc *service, q signal.Query) map[string]string {
	vars := make(map[string]string, len(svc.cfg.Vars)+2)
	for k, v := range svc.cfg.Vars {
		vars[k] = v
	}
	if s.vars != nil {
		for k, v := range s.vars(q.Service, q.Version) {
			vars[k] = v
		}
	}
	vars[VarService], vars[VarVersion] = q.Service, q.Version
	return vars
}

// sampleCount answers the samples query, 0 when there is none or it fails.
// One answer per (service, version, At, query) is kept, so judging several
// metrics of one version at one moment queries the count once.
func (s *Source) sampleCount(ctx context.Context, svc *service, q signal.Query, vars map[string]string) int64 {
	if svc.samples == nil {
		return 0
	}
	query, err := svc.samples.render(vars, svc.cfg.Window)
	if err != nil {
		s.log.Debug("prometheus samples query", "service", q.Service, "version", q.Version, "err", err)
		return 0
	}
	key := [2]string{q.Service, q.Version}
	s.mu.Lock()
	e, ok := s.samples[key]
	s.mu.Unlock()
	if ok && e.at.Equal(q.At) && e.query == query {
		return e.n
	}
	v, err := svc.client.Value(ctx, query, q.At)
	if err != nil || v < 0 {
		s.log.Debug("prometheus samples query", "service", q.Service, "version", q.Version, "value", v, "err", err)
		return 0 // not cached: a later Read at the same At may get an answer
	}
	n := int64(math.Round(v))
	s.mu.Lock()
	if s.samples == nil {
		s.samples = map[[2]string]samplesEntry{}
	}
	s.samples[key] = samplesEntry{at: q.At, query: query, n: n}
	s.mu.Unlock()
	return n
}

// LastScrape returns when Prometheus last scraped the service's job; see
// Client.LastScrape.
func (s *Source) LastScrape(ctx context.Context, service string) (time.Time, error) {
	svc := s.service(service)
	if svc == nil || svc.cfg.Job == "" {
		return time.Time{}, fmt.Errorf("prometheus: %s: no scrape job configured: %w", service, signal.ErrNoData)
	}
	return svc.client.LastScrape(ctx, svc.cfg.Job)
}

// Client returns the client of service's server, or nil.
func (s *Source) Client(service string) *Client {
	if svc := s.service(service); svc != nil {
		return svc.client
	}
	return nil
}

// clients holds the Clients in use by what makes them, as weak pointers:
// the services on one Prometheus share a Client (an API client, a parsed
// URL: about 700 bytes), as a daemon makes a Source per service. A Client
// is never changed once made.
var clients sync.Map // clientKey → weak.Pointer[Client]

type clientKey struct {
	url     string
	timeout time.Duration
	hc      *http.Client
	log     *slog.Logger
}

// sharedClient is NewClient's Client, the one already in use for the same
// arguments if there is one.
func sharedClient(url string, timeout time.Duration, hc *http.Client, log *slog.Logger) (*Client, error) {
	k := clientKey{url, timeout, hc, log}
	if p, ok := clients.Load(k); ok {
		if c := p.(weak.Pointer[Client]).Value(); c != nil {
			return c, nil
		}
	}
	c, err := NewClient(url, timeout, hc, log)
	if err != nil {
		return nil, err
	}
	wp := weak.Make(c)
	clients.Store(k, wp)
	runtime.AddCleanup(c, func(k clientKey) { clients.CompareAndDelete(k, wp) }, k)
	return c, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
