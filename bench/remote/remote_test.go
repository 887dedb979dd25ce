// Package remote_bench measures what the paid signal APIs cost: how many
// Datadog timeseries queries and CloudWatch GetMetricData calls (and
// metrics requested) a daemon makes per service per minute at the default
// intervals, counted at local receivers that check the wire format. Runs
// only with RIPCORD_BENCH=1 (bench/remote/run.sh).
package remote_bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/signal/cloudwatch/cwtest"
	"github.com/ripcord/ripcord/internal/signal/datadog/ddtest"
	"github.com/ripcord/ripcord/internal/testenv"
)

// TestQueriesPerServicePerMinute runs SERVICES services (default 20),
// each judged on error_rate from Datadog (requests and errors, one
// request) and latency_p99_ms from CloudWatch, counting over DURATION
// (default 3m) after a 30s warm-up, every key at its default interval.
func TestQueriesPerServicePerMinute(t *testing.T) {
	testenv.Measurement(t, "run bench/remote/run.sh")
	n, dur := 20, 3*time.Minute
	if _, err := fmt.Sscan(os.Getenv("SERVICES"), &n); err != nil {
		n = 20
	}
	if d, err := time.ParseDuration(os.Getenv("DURATION")); err == nil {
		dur = d
	}
	cwtest.AWSEnv(t)
	dd, cw := ddtest.New(t), cwtest.New(t)
	dd.Answer = func(query string, from, to time.Time) []map[time.Time]float64 {
		s := map[time.Time]float64{}
		for ts := from.Truncate(time.Minute); !ts.After(to); ts = ts.Add(time.Minute) {
			if strings.Contains(query, "hits") {
				s[ts.UTC()] = 1000
			} else {
				s[ts.UTC()] = 1
			}
		}
		return []map[time.Time]float64{s}
	}
	cw.Points = func(string, map[string]any) map[time.Time]float64 {
		now := time.Now().Truncate(time.Minute)
		return map[time.Time]float64{now: 0.05, now.Add(-time.Minute): 0.05}
	}
	dir := t.TempDir()
	for name, v := range map[string]string{"dd-api": ddtest.APIKey, "dd-app": ddtest.AppKey} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "api: {listen: 127.0.0.1:0}\nstore: {url: sqlite://ripcord.db}\nservices:\n")
	for i := range n {
		active := fmt.Sprintf("active-%d", i)
		if err := os.WriteFile(filepath.Join(dir, active), []byte("v1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, `  - name: svc%d
    versions: [{name: v1}]
    target: {file: {path: %s}}
    policy:
      interval: 1s
      thresholds: {error_rate: {max: 0.05}, latency_p99_ms: {max: 500}}
    signals:
      datadog:
        api_url: %s
        api_key_file: dd-api
        app_key_file: dd-app
        queries:
          requests: sum:trace.http.request.hits{service:svc%d,version:{{.Version}}}.as_count()
          errors: sum:trace.http.request.errors{service:svc%d,version:{{.Version}}}.as_count()
      cloudwatch:
        region: %s
        endpoint: %s
        metrics:
          latency_p99_ms: {namespace: AWS/ApplicationELB, name: TargetResponseTime, stat: p99, scale: 1000, dimensions: {TargetGroup: "targetgroup/svc%d-{{.Version}}/6d0ecf831eec9f09"}}
`, i, active, dd.URL(), i, i, cwtest.Region, cw.URL(), i)
	}
	path := filepath.Join(dir, "ripcord.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{BaseDir: dir, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Stop(context.Background()) }()
	// Steady state: count from 30s in (every service has made its first
	// read) over dur; these are spans of a measurement, not assertions.
	counts := func() (dd0, calls, metrics int) {
		dd.Mu.Lock()
		dd0 = dd.Hits
		dd.Mu.Unlock()
		cw.Mu.Lock()
		defer cw.Mu.Unlock()
		for _, c := range cw.Calls {
			qs, _ := c["MetricDataQueries"].([]any)
			metrics += len(qs)
		}
		return dd0, len(cw.Calls), metrics
	}
	time.Sleep(30 * time.Second)
	d0, c0, m0 := counts()
	time.Sleep(dur)
	d1, c1, m1 := counts()
	ddReqs, cwCalls, cwMetrics := d1-d0, c1-c0, m1-m0
	mins := dur.Minutes()
	perMin := func(x int) float64 { return float64(x) / float64(n) / mins }
	const minutesPerMonth = 30 * 24 * 60
	fmt.Printf("remote %d services %s: datadog %.2f requests/service/min; cloudwatch %.2f calls, %.2f metrics/service/min\n",
		n, dur, perMin(ddReqs), perMin(cwCalls), perMin(cwMetrics))
	fmt.Printf("remote 100-service fleet a month: datadog %.0f requests; cloudwatch %.0f calls, %.0f metrics requested ($%.2f at $0.01 per 1,000 metrics)\n",
		perMin(ddReqs)*100*minutesPerMonth, perMin(cwCalls)*100*minutesPerMonth, perMin(cwMetrics)*100*minutesPerMonth,
		perMin(cwMetrics)*100*minutesPerMonth/1000*0.01)
}
