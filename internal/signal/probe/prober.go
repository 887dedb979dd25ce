package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/signal"
)

// Defaults for Config's zero values.
const (
	DefaultInterval = 30 * time.Second
	DefaultWindow   = 5 * time.Minute
	DefaultTimeout  = 5 * time.Second
	// MaxBody is the most of a response body a probe reads; a larger body
	// fails the probe.
	MaxBody = 1 << 20
)

// Config is one service's golden-set probing. See the package documentation
// for the YAML shape.
type Config struct {
	// File is the probe file (YAML or JSON), relative to the config file.
	File field.File `yaml:"file"`
	// Interval between rounds; each round sends every probe to every live
	// version. Default 30s.
	Interval time.Duration `yaml:"interval"`
	// Window is how far back quality_score looks. Default 5m.
	Window time.Duration `yaml:"window"`
	// Timeout bounds one probe request. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
}

// Validate loads the probe file, so a broken golden set is found by
// check-config rather than at start-up, and checks the durations. Paths in
// the problems are relative to the probe block.
func (c Config) Validate() error {
	var errs field.Errors
	if c.File == "" {
		errs.Add("file", "is required: the golden-set file of requests and expectations, e.g. probes/chat.yaml")
	} else if _, err := Load(string(c.File)); err != nil {
		errs.Add("file", "%v", err)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"interval", c.Interval}, {"window", c.Window}, {"timeout", c.Timeout}} {
		if d.v < 0 {
			errs.Add(d.key, "must not be negative (0 means the default), not %s", d.v)
		}
	}
	return errs.Err()
}

// Versions returns the live versions of the service: name → base URL.
type Versions func() map[string]string

// Result is one probe sent to one version.
type Result struct {
	Version string
	Probe   int // index in the probe file
	Name    string
	At      time.Time
	Latency time.Duration
	Status  int
	// Failures names each failed expectation; empty when the probe passed.
	Failures []string
}

// Passed reports whether every expectation held.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// Option configures a Prober.
type Option func(*Prober)

// WithHTTPClient sets the client probes are sent with.
func WithHTTPClient(hc *http.Client) Option { return func(p *Prober) { p.hc = hc } }

// WithClock sets the clock results are stamped with (default time.Now).
// Latency is always measured with the real monotonic clock.
func WithClock(now func() time.Time) Option { return func(p *Prober) { p.now = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(p *Prober) { p.log = l } }

// Prober probes one service's versions and serves quality_score from the
// results. Safe for concurrent use.
type Prober struct {
	service  string
	cfg      Config
	probes   []Probe
	versions Versions
	hc       *http.Client
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	results map[string][]Result // version → results, oldest first
}

var _ signal.Source = (*Prober)(nil)

// Open loads cfg.File and returns a Prober for service.
func Open(service string, cfg Config, versions Versions, opts ...Option) (*Prober, error) {
	probes, err := Load(string(cfg.File))
	if err != nil {
		return nil, fmt.Errorf("probe: service %s: %w", service, err)
	}
	return New(service, cfg, probes, versions, opts...), nil
}

// New returns a Prober for service sending probes (as returned by Parse or
// Load) to the URLs versions returns.
func New(service string, cfg Config, probes []Probe, versions Versions, opts ...Option) *Prober {
	cfg.Interval = orDefault(cfg.Interval, DefaultInterval)
	cfg.Window = orDefault(cfg.Window, DefaultWindow)
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	p := &Prober{service: service, cfg: cfg, probes: probes, versions: versions,
		hc: &http.Client{}, now: time.Now, log: slog.Default(), results: map[string][]Result{}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run sends a round at once and then every Interval until ctx ends.
func (p *Prober) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.Round(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Round sends every probe to every live version (versions in parallel, a
// version's probes one after another), records the results and returns
// them ordered by version and probe. Probes cut short because ctx ended are
// not recorded: shutting down is not a failure of the version.
func (p *Prober) Round(ctx context.Context) []Result {
	at := p.now()
	versions := p.versions()
	var mu sync.Mutex
	var all []Result
	var wg sync.WaitGroup
	for version, base := range versions {
		wg.Go(func() {
			var got []Result
			for i := range p.probes {
				r, ok := p.send(ctx, version, base, i)
				if !ok {
					return
				}
				r.At = at
				got = append(got, r)
			}
			mu.Lock()
			all = append(all, got...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(all, func(a, b Result) int {
		if c := strings.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return a.Probe - b.Probe
	})
	p.record(at, all)
	return all
}

// send runs probe i against one version. ok is false when ctx ended.
func (p *Prober) send(ctx context.Context, version, base string, i int) (r Result, ok bool) {
	pr := p.probes[i]
	r = Result{Version: version, Probe: i, Name: pr.Name}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, pr.Method, strings.TrimSuffix(base, "/")+pr.Path, strings.NewReader(pr.Body))
	if err != nil {
		r.Failures = []string{"request: " + err.Error()}
		return r, true
	}
	for k, v := range pr.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	start := time.Now()
	resp, err := p.hc.Do(req)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
		resp.Body.Close()
		r.Latency, r.Status = time.Since(start), resp.StatusCode
		if err == nil && len(body) > MaxBody {
			err = fmt.Errorf("body larger than %d bytes", MaxBody)
		}
		if err == nil {
			r.Failures = pr.Expect.evaluate(resp.StatusCode, body, r.Latency)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return r, false
		}
		r.Latency = time.Since(start)
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within the %s probe timeout", p.cfg.Timeout)
		}
		r.Failures = []string{"request: " + err.Error()}
	}
	if !r.Passed() {
		p.log.Debug("probe failed", "service", p.service, "version", version, "probe", i, "name", pr.Name, "failures", r.Failures)
	}
	return r, true
}

func (p *Prober) record(at time.Time, rs []Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rs {
		p.results[r.Version] = append(p.results[r.Version], r)
	}
	cutoff := at.Add(-p.cfg.Window)
	for v, list := range p.results {
		i := 0
		for i < len(list) && list[i].At.Before(cutoff) {
			i++
		}
		if i == len(list) {
			delete(p.results, v)
			continue
		}
		p.results[v] = slices.Clone(list[i:])
	}
}

// Expected reports whether quality_score is expected from service: true for
// this Prober's service once it has probes.
func (p *Prober) Expected(service, metric string) bool {
	return service == p.service && metric == signal.QualityScore && len(p.probes) > 0
}

// Read answers quality_score for q.Version: the share of probe results that
// passed in [max(q.Since, q.At-Window), q.At], resting on that many results.
// No results in the window is signal.ErrNoData.
func (p *Prober) Read(_ context.Context, q signal.Query) (signal.Sample, error) {
	if !p.Expected(q.Service, q.Metric) {
		return signal.Sample{}, fmt.Errorf("probe: %s of %s: not probed: %w", q.Metric, q.Service, signal.ErrNoData)
	}
	in := p.Results(q.Version, q.Since, q.At)
	if len(in) == 0 {
		return signal.Sample{}, fmt.Errorf("probe: %s/%s: no probe results in the window: %w", q.Service, q.Version, signal.ErrNoData)
	}
	passed := 0
	for _, r := range in {
		if r.Passed() {
			passed++
		}
	}
	return signal.Sample{Value: float64(passed) / float64(len(in)), Samples: int64(len(in)),
		Window: q.At.Sub(in[0].At), At: q.At}, nil
}

// Results returns version's results in [max(since, until-Window), until],
// oldest first, for reports that name the failing expectations.
func (p *Prober) Results(version string, since, until time.Time) []Result {
	if from := until.Add(-p.cfg.Window); from.After(since) {
		since = from
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Result
	for _, r := range p.results[version] {
		if !r.At.Before(since) && !r.At.After(until) {
			out = append(out, r)
		}
	}
	return out
}
