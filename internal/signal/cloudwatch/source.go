package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/internal/remote"
)

// lookback is the least range each call covers: enough periods to catch
// data that arrived late since the last read.
const lookback = 10 * time.Minute

// Option configures a Source.
type Option func(*Source)

// WithHTTPClient sets the HTTP client of the AWS SDK.
func WithHTTPClient(hc *http.Client) Option { return func(s *Source) { s.hc = hc } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// Source is a signal.Source over CloudWatch GetMetricData, one Config per
// service. Safe for concurrent use.
type Source struct {
	services map[string]*service
	hc       *http.Client
	log      *slog.Logger
	evidence remote.Evidence
}

type service struct {
	cfg    Config
	keys   []string
	client *cloudwatch.Client
	cache  *remote.Cache[remote.Result]
}

var _ signal.Source = (*Source)(nil)

// New validates every service's config and builds a CloudWatch client per
// service from the standard AWS configuration chain (region, credentials,
// retries). Credentials are resolved when a call is made, so a missing
// one is a Read error (no data), not a start-up failure; a missing region
// is a start-up failure.
func New(ctx context.Context, services map[string]Config, opts ...Option) (*Source, error) {
	s := &Source{services: map[string]*service{}, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, err := s.compile(ctx, services[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("cloudwatch: service %s: %w", name, err))
			continue
		}
		s.services[name] = svc
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Source) compile(ctx context.Context, cfg Config) (*service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var lo []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		lo = append(lo, awsconfig.WithRegion(cfg.Region))
	}
	if s.hc != nil {
		lo = append(lo, awsconfig.WithHTTPClient(s.hc))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if ac.Region == "" {
		return nil, errors.New("region: is required: set it here, or AWS_REGION, or a region in the AWS profile")
	}
	client := cloudwatch.NewFromConfig(ac, func(o *cloudwatch.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		// the next read is the retry: retrying inside one would spend the
		// throttle that refused it and be billed per metric again
		o.RetryMaxAttempts = 1
	})
	return &service{cfg: cfg, keys: slices.Sorted(maps.Keys(cfg.Metrics)), client: client,
		cache: remote.NewCache[remote.Result](cfg.Interval, 64)}, nil
}

// Expected reports whether a metric is configured for service (error_rate
// also from requests and errors).
func (s *Source) Expected(service, metric string) bool {
	svc := s.services[service]
	return svc != nil && svc.gives(metric)
}

func (svc *service) gives(metric string) bool { return remote.Gives(svc.cfg.Metrics, metric) }

// Read fetches the version's metrics (at most once per interval, all in
// one GetMetricData call) and answers metric. Every non-answer wraps
// signal.ErrNoData.
func (s *Source) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	svc := s.services[q.Service]
	if svc == nil || !svc.gives(q.Metric) {
		return signal.Sample{}, fmt.Errorf("cloudwatch: %s of %s: not configured: %w", q.Metric, q.Service, signal.ErrNoData)
	}
	r, err := svc.cache.Get(ctx, q.Version, q.At, func(ctx context.Context) (remote.Result, error) {
		return s.fetch(ctx, svc, q)
	})
	if err != nil {
		return signal.Sample{}, fmt.Errorf("cloudwatch: %s of %s/%s: %w: %w", q.Metric, q.Service, q.Version, signal.ErrNoData, err)
	}
	_, hasMetric := svc.cfg.Metrics[q.Metric]
	_, counts := svc.cfg.Metrics[KeyRequests]
	period := svc.cfg.Interval
	if m, ok := svc.cfg.Metrics[q.Metric]; ok {
		period = m.Period
	}
	smp, err := s.evidence.Answer(q, r, remote.Shape{Interval: period, Stale: max(3*period, 3*time.Minute), Query: hasMetric, Counts: counts})
	if err != nil {
		return signal.Sample{}, fmt.Errorf("cloudwatch: %s of %s/%s: %w", q.Metric, q.Service, q.Version, err)
	}
	return smp, nil
}

func (s *Source) fetch(ctx context.Context, svc *service, q signal.Query) (remote.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, svc.cfg.Timeout)
	defer cancel()
	from := q.At.Add(-max(lookback, q.At.Sub(q.Since)))
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(q.At), ScanBy: types.ScanByTimestampAscending}
	for i, k := range svc.keys {
		m := svc.cfg.Metrics[k]
		dims := make([]types.Dimension, 0, len(m.Dimensions))
		for _, name := range slices.Sorted(maps.Keys(m.Dimensions)) {
			dims = append(dims, types.Dimension{Name: aws.String(name), Value: aws.String(render(m.Dimensions[name], q.Service, q.Version))})
		}
		in.MetricDataQueries = append(in.MetricDataQueries, types.MetricDataQuery{
			Id: aws.String(fmt.Sprintf("q%d", i)), ReturnData: aws.Bool(true),
			MetricStat: &types.MetricStat{Stat: aws.String(m.Stat), Period: aws.Int32(int32(m.Period / time.Second)),
				Metric: &types.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(m.Name), Dimensions: dims}},
		})
	}
	out, err := svc.client.GetMetricData(ctx, in)
	if err != nil {
		return remote.Result{}, callError(err, q.At, svc.cfg.Interval)
	}
	r := remote.Result{At: q.At, Points: map[string][]remote.Point{}, Missing: map[string]error{}}
	for _, res := range out.MetricDataResults {
		var i int
		if _, err := fmt.Sscanf(aws.ToString(res.Id), "q%d", &i); err != nil || i < 0 || i >= len(svc.keys) {
			continue
		}
		k, m := svc.keys[i], svc.cfg.Metrics[svc.keys[i]]
		var pts []remote.Point
		for j, ts := range res.Timestamps {
			if j < len(res.Values) && !math.IsNaN(res.Values[j]) && !math.IsInf(res.Values[j], 0) {
				pts = append(pts, remote.Point{T: ts, V: res.Values[j] * m.Scale})
			}
		}
		slices.SortFunc(pts, func(a, b remote.Point) int { return a.T.Compare(b.T) })
		r.Points[k] = pts
	}
	for _, k := range svc.keys {
		if len(r.Points[k]) == 0 {
			r.Missing[k] = fmt.Errorf("metrics.%s: no data points (check the namespace, name and dimensions)", k)
		}
	}
	if _, ok := svc.cfg.Metrics[KeyRequests]; ok {
		s.evidence.Observe(q.Service, q.Version, q.Since, from, svc.cfg.Metrics[KeyRequests].Period, r)
	}
	return r, nil
}

// callError says what a failed call means. Throttling waits an interval
// more before the next call.
func callError(err error, now time.Time, interval time.Duration) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "LimitExceededException":
			return &remote.RateLimited{Until: now.Add(2 * interval), Msg: "cloudwatch: throttled: " + ae.ErrorMessage()}
		case "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken":
			return fmt.Errorf("cloudwatch: %s: the credentials from the AWS chain are refused or lack cloudwatch:GetMetricData: %s", ae.ErrorCode(), ae.ErrorMessage())
		}
		return fmt.Errorf("cloudwatch: %s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("cloudwatch: %w", err)
}
