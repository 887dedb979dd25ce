package prometheus

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ripcord/ripcord/internal/signal"
)

// DefaultTimeout bounds one query when the config sets none.
const DefaultTimeout = 2 * time.Second

// Client runs instant queries that must come back as one number. Every
// failure — transport error, timeout, HTTP error, bad query, empty result,
// NaN — wraps signal.ErrNoData, with the cause kept in the chain for
// errors.Is/As and logs: a Prometheus outage must read as "no data", never as
// a bad version.
type Client struct {
	api     v1.API
	url     string
	timeout time.Duration
	log     *slog.Logger
}

// NewClient talks to the Prometheus server at url. A zero timeout means
// DefaultTimeout; hc nil means a plain http.Client (the per-query context
// bounds every request, so it needs no timeout of its own).
func NewClient(url string, timeout time.Duration, hc *http.Client, log *slog.Logger) (*Client, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if log == nil {
		log = slog.Default()
	}
	c, err := api.NewClient(api.Config{Address: url, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", url, err)
	}
	return &Client{api: v1.NewAPI(c), url: url, timeout: timeout, log: log}, nil
}

// URL is the server's address as configured.
func (c *Client) URL() string { return c.url }

// Value runs query as an instant query at at (the server's now if at is
// zero) and returns its single number: a scalar, or a vector of exactly one
// float sample.
func (c *Client) Value(ctx context.Context, query string, at time.Time) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	val, warnings, _, err := c.api.Query(ctx, query, at, v1.WithTimeout(c.timeout))
	if err != nil {
		return 0, noData(query, err)
	}
	if len(warnings) > 0 {
		c.log.Debug("prometheus query warnings", "query", query, "warnings", warnings)
	}
	v, err := single(val)
	if err != nil {
		return 0, noData(query, err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, noData(query, fmt.Errorf("result is %v", v))
	}
	return v, nil
}

// Vector runs query as an instant query at at and returns every float
// series of its vector result; an empty vector is an answer (no series
// yet), not an error. Counts mode reads raw counters with it.
func (c *Client) Vector(ctx context.Context, query string, at time.Time) (model.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	val, warnings, _, err := c.api.Query(ctx, query, at, v1.WithTimeout(c.timeout))
	if err != nil {
		return nil, noData(query, err)
	}
	if len(warnings) > 0 {
		c.log.Debug("prometheus query warnings", "query", query, "warnings", warnings)
	}
	switch v := val.(type) {
	case model.Vector:
		return v, nil
	case *model.Scalar:
		return model.Vector{{Value: v.Value, Timestamp: v.Timestamp}}, nil
	case nil:
		return nil, noData(query, fmt.Errorf("empty result"))
	default:
		return nil, noData(query, fmt.Errorf("result is a %s, want a vector", val.Type()))
	}
}

func noData(query string, cause error) error {
	return fmt.Errorf("prometheus: %s: %w: %w", query, signal.ErrNoData, cause)
}

// single extracts the one number of a scalar or one-sample vector.
func single(val model.Value) (float64, error) {
	switch v := val.(type) {
	case *model.Scalar:
		return float64(v.Value), nil
	case model.Vector:
		switch {
		case len(v) == 0:
			return 0, fmt.Errorf("empty result")
		case len(v) > 1:
			return 0, fmt.Errorf("%d series, want one: aggregate the query (sum, max, …)", len(v))
		case v[0].Histogram != nil:
			return 0, fmt.Errorf("native histogram sample, want a float")
		}
		return float64(v[0].Value), nil
	case nil:
		return 0, fmt.Errorf("empty result")
	default:
		return 0, fmt.Errorf("result is a %s, want scalar or vector", val.Type())
	}
}

// LastScrape returns when Prometheus last scraped any target of job: the
// newest timestamp of the job's up series, max(timestamp(up{job="…"})).
//
// up is written by Prometheus itself on every scrape attempt, of every
// target, whatever the target exposes, so it is the one series guaranteed to
// move with each scrape; its sample timestamp is the scrape's start time.
// Taking the max over targets means "some new data has landed". The query
// runs at the server's own now, so clock skew between ripcord and Prometheus
// does not matter: callers compare the returned time only with earlier
// returns. Counter-based alternatives (prometheus_target_interval_length_
// seconds, scrape_duration_seconds values) describe scrapes but do not tell
// when the latest one landed.
func (c *Client) LastScrape(ctx context.Context, job string) (time.Time, error) {
	v, err := c.Value(ctx, `max(timestamp(up{job="`+escapeLabelValue(job)+`"}))`, time.Time{})
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(int64(math.Round(v * 1000))), nil
}

// ScrapeTimes returns when Prometheus last scraped each target of job, by
// instance: timestamp(up{job="…"}) per series. Targets of one job are
// scraped at offsets of their own within the interval, so only per-target
// times say when the next scrape of each is due.
func (c *Client) ScrapeTimes(ctx context.Context, job string) (map[string]time.Time, error) {
	vec, err := c.Vector(ctx, `timestamp(up{job="`+escapeLabelValue(job)+`"})`, time.Time{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(vec))
	for _, s := range vec {
		out[s.Metric.String()] = time.UnixMilli(int64(math.Round(float64(s.Value) * 1000)))
	}
	return out, nil
}

// WaitForScrape polls LastScrape every poll until it is after after, and
// returns the new scrape time. It gives up with ctx. Errors from single polls
// are retried: Prometheus may be restarting.
func (c *Client) WaitForScrape(ctx context.Context, job string, after time.Time, poll time.Duration) (time.Time, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var last error
	for {
		ts, err := c.LastScrape(ctx, job)
		if err == nil && ts.After(after) {
			return ts, nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return time.Time{}, fmt.Errorf("wait for a scrape of %s: %w (last error: %w)", job, ctx.Err(), last)
			}
			return time.Time{}, fmt.Errorf("wait for a scrape of %s: %w", job, ctx.Err())
		case <-t.C:
		}
	}
}
