package cloudwatch

import (
	stdctx "context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/cloudwatch/cwtest"
)

const (
	accessKey = cwtest.AccessKey
	secretKey = cwtest.SecretKey
	region    = cwtest.Region
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

var albMetrics = map[string]Metric{
	"requests": {Namespace: "AWS/ApplicationELB", Name: "RequestCount", Stat: "Sum",
		Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09", "LoadBalancer": "app/shop/50dc6c495c0c9188"}},
	"errors": {Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Stat: "Sum",
		Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09", "LoadBalancer": "app/shop/50dc6c495c0c9188"}},
	"latency_p99_ms": {Namespace: "AWS/ApplicationELB", Name: "TargetResponseTime", Stat: "p99", Scale: 1000,
		Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09", "LoadBalancer": "app/shop/50dc6c495c0c9188"}},
}

func newSource(t *testing.T, e *cwtest.Endpoint) *Source {
	t.Helper()
	cwtest.AWSEnv(t)
	s, err := New(t.Context(), map[string]Config{"checkout": {Region: region, Endpoint: e.Srv.URL, Metrics: albMetrics}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func read(s *Source, metric string, at time.Time) (signal.Sample, error) {
	return s.Read(stdctx.Background(), signal.Query{Service: "checkout", Version: "v2", Metric: metric, Since: at.Add(-10 * time.Second), At: at})
}

func TestGetMetricData(t *testing.T) {
	e := cwtest.New(t)
	data := map[string]map[time.Time]float64{ // by metric name
		"RequestCount":              {t0.Add(-time.Minute): 500, t0: 400},
		"HTTPCode_Target_5XX_Count": {t0.Add(-time.Minute): 5, t0: 40},
		"TargetResponseTime":        {t0.Add(-time.Minute): 0.2, t0: 0.35},
	}
	e.Points = func(id string, q map[string]any) map[time.Time]float64 {
		ms := q["MetricStat"].(map[string]any)
		metric := ms["Metric"].(map[string]any)
		dims := metric["Dimensions"].([]any)
		tg := cwtest.ToStringMap(dims[1].(map[any]any))
		if tg["Name"] != "TargetGroup" || tg["Value"] != "targetgroup/checkout-v2/6d0ecf831eec9f09" || fmt.Sprint(ms["Period"]) != "60" {
			t.Errorf("query %s: %v", id, q)
		}
		return data[fmt.Sprint(metric["MetricName"])]
	}
	s := newSource(t, e)
	at := t0.Add(30 * time.Second)
	smp, err := read(s, signal.ErrorRate, at)
	if err != nil {
		t.Fatal(err)
	}
	if c := smp.Counts[0]; c.N != 400 || c.Bad != 40 {
		t.Errorf("counts %+v: want the period overlapping the watch (400 requests, 40 errors)", c)
	}
	if smp.Value != 45.0/900 || smp.Samples != 900 {
		t.Errorf("error_rate %g over %d: want errors/requests over two periods", smp.Value, smp.Samples)
	}
	lat, err := read(s, signal.LatencyP99, at)
	if err != nil || lat.Value != 350 || lat.Counts != nil {
		t.Errorf("latency %+v %v: the newest point in ms", lat, err)
	}
	if len(e.Calls) != 1 || len(e.Calls[0]["MetricDataQueries"].([]any)) != 3 {
		t.Fatalf("%d calls: every metric of a version in one GetMetricData per interval", len(e.Calls))
	}
	// a minute on: the current period grew, a new one began
	data["RequestCount"][t0] = 600
	data["HTTPCode_Target_5XX_Count"][t0.Add(time.Minute)] = 1
	data["RequestCount"][t0.Add(time.Minute)] = 100
	smp, err = read(s, signal.ErrorRate, at.Add(time.Minute))
	if err != nil || smp.Counts[0] != (signal.Count{N: 700, Bad: 41}) {
		t.Errorf("second read %+v %v, want N=600+100 Bad=40+1", smp.Counts, err)
	}
	if !s.Expected("checkout", signal.ErrorRate) || s.Expected("checkout", "errors") || s.Expected("checkout", signal.LatencyP50) {
		t.Error("Expected: the configured metrics and error_rate from counts")
	}
}

func TestErrorsAreNoData(t *testing.T) {
	e := cwtest.New(t)
	e.Points = func(string, map[string]any) map[time.Time]float64 { return nil }
	s := newSource(t, e)
	if _, err := read(s, signal.LatencyP99, t0); !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "no data points") {
		t.Errorf("no points: %v", err)
	}
	e.Mu.Lock()
	e.Fail = "Throttling"
	e.Mu.Unlock()
	_, err := read(s, signal.LatencyP99, t0.Add(time.Minute))
	if !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("throttled: %v", err)
	}
	n := len(e.Calls)
	if _, err := read(s, signal.LatencyP99, t0.Add(2*time.Minute)); !errors.Is(err, signal.ErrNoData) || len(e.Calls) != n {
		t.Errorf("called again %d times within the throttle backoff", len(e.Calls)-n)
	}
	e.Mu.Lock()
	e.Fail = "AccessDenied"
	e.Mu.Unlock()
	_, err = read(s, signal.LatencyP99, t0.Add(4*time.Minute))
	if !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "lack cloudwatch:GetMetricData") || strings.Contains(err.Error(), secretKey) {
		t.Errorf("access denied: %v", err)
	}
	e.Srv.Close()
	if _, err := read(s, signal.LatencyP99, t0.Add(6*time.Minute)); !errors.Is(err, signal.ErrNoData) {
		t.Errorf("endpoint down: %v", err)
	}
}

func TestValidate(t *testing.T) {
	m := func(f func(*Metric)) map[string]Metric {
		x := albMetrics["latency_p99_ms"]
		f(&x)
		return map[string]Metric{"latency_p99_ms": x}
	}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Metrics: m(func(x *Metric) { x.Dimensions = map[string]string{"TargetGroup": "tg"} })}, "metrics.latency_p99_ms.dimensions: no dimension value uses {{.Version}}"},
		{Config{Metrics: m(func(x *Metric) { x.Dimensions = map[string]string{"TargetGroup": "{{.Image}}-{{.Version}}"} })}, "dimensions.TargetGroup: only {{.Version}} and {{.Service}}"},
		{Config{Metrics: m(func(x *Metric) { x.Stat = "median" })}, `metrics.latency_p99_ms.stat: "median" is not a CloudWatch statistic`},
		{Config{Metrics: m(func(x *Metric) { x.Period = 90 * time.Second })}, "metrics.latency_p99_ms.period: must be a multiple of 60s"},
		{Config{Metrics: m(func(x *Metric) { x.Namespace = "" })}, "namespace and name are required"},
		{Config{Metrics: map[string]Metric{"requests": albMetrics["latency_p99_ms"], "errors": albMetrics["errors"]}}, "metrics.requests.stat: must be Sum"},
		{Config{Metrics: map[string]Metric{"requests": albMetrics["requests"]}}, "metrics: requests and errors go together"},
		{Config{Region: "Ireland", Metrics: albMetrics}, `region: "Ireland" is not an AWS region`},
		{Config{Endpoint: "monitoring", Metrics: albMetrics}, "endpoint: must be an absolute http(s) URL"},
		{Config{Metrics: map[string]Metric{"latency": albMetrics["latency_p99_ms"]}}, "metrics.latency: unknown metric"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if err := (Config{Metrics: albMetrics}).Validate(); err != nil {
		t.Errorf("a good config: %v", err)
	}
	cwtest.AWSEnv(t)
	if _, err := New(t.Context(), map[string]Config{"checkout": {Metrics: albMetrics}}); err == nil || !strings.Contains(err.Error(), "region: is required") {
		t.Errorf("no region anywhere: %v", err)
	}
}
