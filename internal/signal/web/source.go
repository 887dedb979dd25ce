package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/internal/remote"
	"github.com/ripcord/ripcord/internal/signal/jsonpath"
)

// maxBody bounds an answer; a metrics document is small.
const maxBody = 1 << 20

// history is how many readings per version are kept for windowed values.
const history = 32

// Option configures a Source.
type Option func(*Source)

// WithHTTPClient sets the HTTP client (default: a new one per Source).
func WithHTTPClient(hc *http.Client) Option { return func(s *Source) { s.hc = hc } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// Source is a signal.Source over JSON endpoints, one Config per service.
// Safe for concurrent use.
type Source struct {
	services map[string]*service
	hc       *http.Client
	log      *slog.Logger

	mu       sync.Mutex
	counters map[[2]string]*counters
}

type service struct {
	cfg     Config
	headers http.Header // Headers and the secrets of HeaderFiles
	paths   map[string]jsonpath.Path
	cache   *remote.Cache[reading]
}

// reading is one answer of the endpoint: the number at each path, or why
// there is none.
type reading struct {
	at      time.Time
	values  map[string]float64
	missing map[string]error
}

var _ signal.Source = (*Source)(nil)

// New validates every service's config, reads the header files and
// returns the Source. Errors name the service and the field.
func New(services map[string]Config, opts ...Option) (*Source, error) {
	s := &Source{services: map[string]*service{}, hc: &http.Client{}, log: slog.Default(), counters: map[[2]string]*counters{}}
	for _, o := range opts {
		o(s)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(services)) {
		cfg := services[name].WithDefaults()
		if err := cfg.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("web: service %s: %w", name, err))
			continue
		}
		svc := &service{cfg: cfg, headers: http.Header{}, paths: map[string]jsonpath.Path{},
			cache: remote.NewCache[reading](cfg.Interval, 64)}
		for h, v := range cfg.Headers {
			svc.headers.Set(h, v)
		}
		for h, file := range cfg.HeaderFiles {
			v, err := remote.ReadSecret(string(file))
			if err != nil {
				errs = append(errs, fmt.Errorf("web: service %s: header_files.%s: %w", name, h, err))
			}
			svc.headers.Set(h, v)
		}
		for k, p := range cfg.Values {
			svc.paths[k], _ = jsonpath.Parse(p) // Validate parsed them
		}
		s.services[name] = svc
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Expected reports whether the service's endpoint gives metric: a path is
// configured for it, or it is error_rate and the requests and errors
// counters are.
func (s *Source) Expected(service, metric string) bool {
	svc := s.services[service]
	return svc != nil && svc.gives(metric)
}

func (svc *service) gives(metric string) bool {
	return metric != KeySamples && remote.Gives(svc.paths, metric)
}

func (svc *service) hasCounters() bool {
	_, ok := svc.paths[KeyRequests]
	return ok
}

// Read fetches the version's document (at most once per interval) and
// answers metric from it. Every non-answer wraps signal.ErrNoData: an
// unreachable endpoint, a non-2xx status, a body that is not JSON, a path
// that is missing, null or not a number.
func (s *Source) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	svc := s.services[q.Service]
	if svc == nil || !svc.gives(q.Metric) {
		return signal.Sample{}, fmt.Errorf("web: %s of %s: not configured: %w", q.Metric, q.Service, signal.ErrNoData)
	}
	r, err := svc.cache.Get(ctx, q.Version, q.At, func(ctx context.Context) (reading, error) {
		return s.fetch(ctx, svc, q)
	})
	if err != nil {
		return signal.Sample{}, fmt.Errorf("web: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
	}
	smp, err := s.answer(svc, q, r)
	if err != nil {
		return signal.Sample{}, fmt.Errorf("web: %s of %s/%s: %w", q.Metric, q.Service, q.Version, err)
	}
	return smp, nil
}

func (s *Source) fetch(ctx context.Context, svc *service, q signal.Query) (reading, error) {
	ctx, cancel := context.WithTimeout(ctx, svc.cfg.Timeout)
	defer cancel()
	u := render(svc.cfg.URL, q.Service, q.Version)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return reading{}, err
	}
	req.Header = svc.headers.Clone()
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return reading{}, err // the URL is in it, never a header
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return reading{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var doc any
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxBody))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return reading{}, fmt.Errorf("GET %s: the answer is not JSON: %w", u, err)
	}
	r := reading{at: q.At, values: map[string]float64{}, missing: map[string]error{}}
	for k, p := range svc.paths {
		if v, err := number(p, doc); err != nil {
			r.missing[k] = err
		} else {
			r.values[k] = v
		}
	}
	s.observeCounters(q, r)
	return r, nil
}

// number looks p up in doc: a JSON number, or a string holding one.
func number(p jsonpath.Path, doc any) (float64, error) {
	v, err := p.Lookup(doc)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p, err)
	}
	var f float64
	switch x := v.(type) {
	case json.Number:
		f, err = x.Float64()
	case string:
		f, err = strconv.ParseFloat(x, 64)
	case nil:
		return 0, fmt.Errorf("%s is null", p)
	default:
		return 0, fmt.Errorf("%s is not a number", p)
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is not a finite number", p)
	}
	return f, nil
}

func (s *Source) answer(svc *service, q signal.Query, r reading) (signal.Sample, error) {
	smp := signal.Sample{At: q.At, Window: svc.cfg.Interval}
	var c *counters
	if svc.hasCounters() {
		s.mu.Lock()
		defer s.mu.Unlock()
		c = s.counters[[2]string{q.Service, q.Version}]
	}
	if n, ok := r.values[KeySamples]; ok {
		smp.Samples = int64(math.Round(n))
	}
	if _, ok := svc.paths[q.Metric]; ok {
		v, ok := r.values[q.Metric]
		if !ok {
			return signal.Sample{}, fmt.Errorf("%w: %w", signal.ErrNoData, r.missing[q.Metric])
		}
		smp.Value = v
	}
	if c == nil || !c.valid {
		if _, ok := svc.paths[q.Metric]; !ok {
			return signal.Sample{}, fmt.Errorf("the counters did not answer: %w", signal.ErrNoData)
		}
		return smp, nil
	}
	reqs, errs, window, ok := c.window(q.Since)
	if _, given := svc.paths[KeySamples]; !given {
		smp.Samples = int64(math.Round(reqs))
	}
	if q.Metric == signal.ErrorRate {
		smp.Counts = map[float64]signal.Count{0: {N: int64(math.Round(c.reqs)), Bad: c.errs}}
		if _, given := svc.paths[q.Metric]; !given {
			if !ok || reqs <= 0 {
				return signal.Sample{}, fmt.Errorf("no requests counted in the window yet: %w", signal.ErrNoData)
			}
			smp.Value, smp.Window = errs/reqs, window
		}
	}
	return smp, nil
}
