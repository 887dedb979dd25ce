package datadog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/internal/remote"
)

// lookback is the least range each request covers: enough buckets to
// catch data that arrived late since the last read.
const lookback = 10 * time.Minute

// ErrForbidden is Datadog's 403: the keys are wrong for the site, or the
// application key lacks the timeseries_query scope.
var ErrForbidden = errors.New("datadog: 403 Forbidden: the API key or application key is not valid for this site, or the application key lacks the timeseries_query scope")

// Option configures a Source.
type Option func(*Source)

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(hc *http.Client) Option { return func(s *Source) { s.hc = hc } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// Source is a signal.Source over Datadog's timeseries query API, one
// Config per service. Safe for concurrent use.
type Source struct {
	services map[string]*service
	hc       *http.Client
	log      *slog.Logger

	evidence remote.Evidence
}

type service struct {
	cfg    Config
	keys   []string // query keys in request order
	api    *datadogV2.MetricsApi
	server map[string]string // the {protocol}://{name} server's variables
	auth   map[string]datadog.APIKey
	cache  *remote.Cache[remote.Result]
}

var _ signal.Source = (*Source)(nil)

// New validates every service's config, reads the key files and returns
// the Source. Errors name the service and the field, never a key.
func New(services map[string]Config, opts ...Option) (*Source, error) {
	s := &Source{services: map[string]*service{}, hc: &http.Client{}, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, err := s.compile(services[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("datadog: service %s: %w", name, err))
			continue
		}
		s.services[name] = svc
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Source) compile(cfg Config) (*service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.APIURL)
	dc := datadog.NewConfiguration()
	dc.HTTPClient = s.hc
	dc.UserAgent = "ripcord"
	return &service{cfg: cfg, keys: slices.Sorted(maps.Keys(cfg.Queries)),
		api:    datadogV2.NewMetricsApi(datadog.NewAPIClient(dc)),
		server: map[string]string{"protocol": u.Scheme, "name": u.Host},
		auth:   map[string]datadog.APIKey{"apiKeyAuth": {Key: cfg.APIKey.Reveal()}, "appKeyAuth": {Key: cfg.AppKey.Reveal()}},
		cache:  remote.NewCache[remote.Result](cfg.Interval, 64)}, nil
}

// Expected reports whether a query gives metric for service (error_rate
// also from the requests and errors counts).
func (s *Source) Expected(service, metric string) bool {
	svc := s.services[service]
	return svc != nil && svc.gives(metric)
}

func (svc *service) gives(metric string) bool { return remote.Gives(svc.cfg.Queries, metric) }

// Read queries the version (at most once per interval, every query in one
// request) and answers metric. Every non-answer wraps signal.ErrNoData.
func (s *Source) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	svc := s.services[q.Service]
	if svc == nil || !svc.gives(q.Metric) {
		return signal.Sample{}, fmt.Errorf("datadog: %s of %s: not configured: %w", q.Metric, q.Service, signal.ErrNoData)
	}
	r, err := svc.cache.Get(ctx, q.Version, q.At, func(ctx context.Context) (remote.Result, error) {
		return s.fetch(ctx, svc, q)
	})
	if err != nil {
		return signal.Sample{}, fmt.Errorf("datadog: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
	}
	_, hasQuery := svc.cfg.Queries[q.Metric]
	_, counts := svc.cfg.Queries[KeyRequests]
	smp, err := s.evidence.Answer(q, r, remote.Shape{Interval: svc.cfg.Interval, Stale: staleAfter(svc.cfg.Interval), Query: hasQuery, Counts: counts})
	if err != nil {
		return signal.Sample{}, fmt.Errorf("datadog: %s of %s/%s: %w", q.Metric, q.Service, q.Version, err)
	}
	return smp, nil
}

func (s *Source) fetch(ctx context.Context, svc *service, q signal.Query) (remote.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, svc.cfg.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, datadog.ContextAPIKeys, svc.auth)
	ctx = context.WithValue(ctx, datadog.ContextServerIndex, 1)
	ctx = context.WithValue(ctx, datadog.ContextServerVariables, svc.server)
	from := q.At.Add(-max(lookback, q.At.Sub(q.Since)))
	queries := make([]datadogV2.TimeseriesQuery, len(svc.keys))
	formulas := make([]datadogV2.QueryFormula, len(svc.keys))
	for i, k := range svc.keys {
		mq := datadogV2.NewMetricsTimeseriesQuery(datadogV2.METRICSDATASOURCE_METRICS, render(svc.cfg.Queries[k], q.Service, q.Version))
		mq.SetName(fmt.Sprintf("q%d", i))
		queries[i] = datadogV2.MetricsTimeseriesQueryAsTimeseriesQuery(mq)
		formulas[i] = *datadogV2.NewQueryFormula(fmt.Sprintf("q%d", i))
	}
	attrs := datadogV2.NewTimeseriesFormulaRequestAttributes(from.UnixMilli(), queries, q.At.UnixMilli())
	attrs.SetFormulas(formulas)
	attrs.SetInterval(svc.cfg.Interval.Milliseconds())
	body := datadogV2.NewTimeseriesFormulaQueryRequest(*datadogV2.NewTimeseriesFormulaRequest(*attrs, datadogV2.TIMESERIESFORMULAREQUESTTYPE_TIMESERIES_REQUEST))
	resp, httpResp, err := svc.api.QueryTimeseriesData(ctx, *body)
	if err != nil {
		return remote.Result{}, callError(httpResp, err, q.At)
	}
	if e := resp.GetErrors(); e != "" {
		return remote.Result{}, fmt.Errorf("datadog: query errors: %s", e)
	}
	r := parse(svc.keys, resp, q.At)
	if _, ok := svc.cfg.Queries[KeyRequests]; ok {
		s.evidence.Observe(q.Service, q.Version, q.Since, from, svc.cfg.Interval, r)
	}
	return r, nil
}

// callError turns a failed call into an error that says what to do,
// never quoting a key. A 429 holds the next request back until Datadog's
// X-RateLimit-Reset (seconds until the limit resets).
func callError(resp *http.Response, err error, now time.Time) error {
	if resp == nil {
		return fmt.Errorf("datadog: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusTooManyRequests:
		wait := time.Minute
		for _, h := range []string{"X-RateLimit-Reset", "X-RateLimit-Period"} {
			if n, err := strconv.Atoi(resp.Header.Get(h)); err == nil && n > 0 {
				wait = time.Duration(n) * time.Second
				break
			}
		}
		return &remote.RateLimited{Until: now.Add(wait), Msg: fmt.Sprintf("datadog: 429 (limit %s per %ss, %s left)",
			resp.Header.Get("X-RateLimit-Limit"), resp.Header.Get("X-RateLimit-Period"), resp.Header.Get("X-RateLimit-Remaining"))}
	}
	return fmt.Errorf("datadog: %s", resp.Status)
}

// parse splits the response into each query's points. A query that
// answers with several series (a "by {…}" grouping) has no single value.
func parse(keys []string, resp datadogV2.TimeseriesFormulaQueryResponse, at time.Time) remote.Result {
	r := remote.Result{At: at, Points: map[string][]remote.Point{}, Missing: map[string]error{}}
	attrs := resp.GetData().Attributes
	if attrs == nil {
		attrs = &datadogV2.TimeseriesResponseAttributes{}
	}
	seen := map[int]int{}
	for i, series := range attrs.Series {
		qi := int(series.GetQueryIndex())
		if qi < 0 || qi >= len(keys) || i >= len(attrs.Values) {
			continue
		}
		seen[qi]++
		var pts []remote.Point
		for j, v := range attrs.Values[i] {
			if v == nil || j >= len(attrs.Times) || math.IsNaN(*v) || math.IsInf(*v, 0) {
				continue
			}
			pts = append(pts, remote.Point{T: time.UnixMilli(attrs.Times[j]), V: *v})
		}
		r.Points[keys[qi]] = pts
	}
	for qi, k := range keys {
		switch {
		case seen[qi] > 1:
			delete(r.Points, k)
			r.Missing[k] = fmt.Errorf("queries.%s returns %d series: aggregate it to one (sum:, avg:, no \"by {…}\")", k, seen[qi])
		case len(r.Points[k]) == 0:
			r.Missing[k] = fmt.Errorf("queries.%s: no points", k)
		}
	}
	return r
}

// staleAfter is how old the newest point may be before a metric reads as
// no data: Datadog keeps returning the last points of a service that
// stopped reporting for as long as they are in the range.
func staleAfter(interval time.Duration) time.Duration { return max(3*interval, 3*time.Minute) }
