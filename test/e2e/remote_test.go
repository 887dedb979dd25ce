package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/signal/cloudwatch/cwtest"
	"github.com/ripcord/ripcord/internal/signal/datadog/ddtest"
)

// remoteEnv boots a daemon from a file whose only signal for service svc
// is the given signals block, reverting by rewriting a file; it returns
// the env and the file.
func remoteEnv(t *testing.T, dir, signals string) (*env, string) {
	t.Helper()
	active := filepath.Join(dir, "ACTIVE_VERSION")
	writeFile(t, active, "v2\n", 0o644)
	e := fileEnv(t, dir, `services:
  - name: svc
    versions: [{name: v1}, {name: v2}]
    target:
      file: {path: ACTIVE_VERSION}
    signals:
`+signals+`    policy:
      interval: 20ms
      window: 2s
      verify: 500ms
      bake: 1m
      blind_grace: 1m
      require: 1
      thresholds:
        error_rate: {max: 0.05}
`)
	return e, active
}

// reverted waits for svc to leave v2 for v1 on evidence and checks the
// file and the incident.
func reverted(t *testing.T, e *env, active string, within time.Duration) {
	t.Helper()
	e.waitFor("the revert", within, func(s statusT) bool { return s.Active == "v1" })
	if got, _ := os.ReadFile(active); string(got) != "v1\n" {
		t.Fatalf("ACTIVE_VERSION holds %q after the revert", got)
	}
	inc := incidentOf(t, e, "svc", incident.EvRollbackDone)
	if tl := timeline(inc); !strings.Contains(tl, "error_rate") {
		t.Errorf("the incident does not say error_rate decided it:\n%s", tl)
	}
}

// TestDatadogRollsBackThroughServe: the daemon queries a local Datadog API
// (which checks path, keys and body as Datadog documents them) with the
// keys from the files the config names; v2's errors per 10s bucket revert
// it.
func TestDatadogRollsBackThroughServe(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dd-api"), ddtest.APIKey+"\n", 0o600)
	writeFile(t, filepath.Join(dir, "dd-app"), ddtest.AppKey+"\n", 0o600)
	rc := ddtest.New(t)
	began := time.Now().Truncate(10 * time.Second)
	rc.Answer = func(query string, _, to time.Time) []map[time.Time]float64 {
		s := map[time.Time]float64{}
		for ts := began; !ts.After(to); ts = ts.Add(10 * time.Second) {
			switch {
			case strings.Contains(query, "request.hits"):
				s[ts.UTC()] = 1000
			case strings.Contains(query, "version:v2"):
				s[ts.UTC()] = 300
			default:
				s[ts.UTC()] = 0
			}
		}
		return []map[time.Time]float64{s}
	}
	e, active := remoteEnv(t, dir, fmt.Sprintf(`      datadog:
        api_url: %s
        api_key_file: dd-api
        app_key_file: dd-app
        interval: 10s
        queries:
          requests: sum:trace.http.request.hits{service:checkout,version:{{.Version}}}.as_count()
          errors: sum:trace.http.request.errors{service:checkout,version:{{.Version}}}.as_count()
`, rc.URL()))
	reverted(t, e, active, 40*time.Second)
	rc.Mu.Lock()
	defer rc.Mu.Unlock()
	q := rc.Bodies[0].Data.Attributes.Queries
	if len(q) != 2 || !strings.Contains(q[0].Query+q[1].Query, "version:v2}") {
		t.Errorf("queries sent: %+v", q)
	}
}

// TestCloudWatchRollsBackThroughServe: GetMetricData against a local
// endpoint that verifies the SigV4 signature made with the credentials of
// the standard chain (here the environment).
func TestCloudWatchRollsBackThroughServe(t *testing.T) {
	cwtest.AWSEnv(t)
	ep := cwtest.New(t)
	began := time.Now().Truncate(5 * time.Second)
	ep.Points = func(_ string, q map[string]any) map[time.Time]float64 {
		metric := q["MetricStat"].(map[string]any)["Metric"].(map[string]any)
		v2 := strings.Contains(fmt.Sprint(metric["Dimensions"]), "checkout-v2/")
		pts := map[time.Time]float64{}
		for ts := began; !ts.After(time.Now()); ts = ts.Add(5 * time.Second) {
			switch {
			case metric["MetricName"] == "RequestCount":
				pts[ts] = 1000
			case v2:
				pts[ts] = 300
			default:
				pts[ts] = 0
			}
		}
		return pts
	}
	e, active := remoteEnv(t, t.TempDir(), fmt.Sprintf(`      cloudwatch:
        region: %s
        endpoint: %s
        interval: 5s
        metrics:
          requests:
            namespace: AWS/ApplicationELB
            name: RequestCount
            stat: Sum
            period: 5s
            dimensions: &tg {TargetGroup: "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09", LoadBalancer: app/shop/50dc6c495c0c9188}
          errors: {namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, stat: Sum, period: 5s, dimensions: *tg}
`, cwtest.Region, ep.URL()))
	reverted(t, e, active, 40*time.Second)
	ep.Mu.Lock()
	defer ep.Mu.Unlock()
	if len(ep.Calls) == 0 || len(ep.Calls[0]["MetricDataQueries"].([]any)) != 2 {
		t.Errorf("calls: %v (both metrics of a version in one GetMetricData)", ep.Calls)
	}
}

// TestWebJSONRollsBackThroughServe: a JSON endpoint per version, its
// Authorization header from a file; v2's cumulative counters grow with
// 30% errors.
func TestWebJSONRollsBackThroughServe(t *testing.T) {
	dir := t.TempDir()
	const auth = "Bearer web-e2e-9d1f0c"
	writeFile(t, filepath.Join(dir, "metrics.auth"), auth+"\n", 0o600)
	var mu sync.Mutex
	totals := map[string][2]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != auth || r.Header.Get("Accept") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		v := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/checkout/"), "/stats")
		mu.Lock()
		c := totals[v]
		c[0] += 100
		if v == "v2" {
			c[1] += 30
		}
		totals[v] = c
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"counters": map[string]int{"requests": c[0], "errors": c[1]}})
	}))
	t.Cleanup(srv.Close)
	e, active := remoteEnv(t, dir, fmt.Sprintf(`      web:
        url: %s/api/checkout/{{.Version}}/stats
        headers: {Accept: application/json}
        header_files: {Authorization: metrics.auth}
        interval: 200ms
        values: {requests: $.counters.requests, errors: counters.errors}
`, srv.URL))
	reverted(t, e, active, 30*time.Second)
}
