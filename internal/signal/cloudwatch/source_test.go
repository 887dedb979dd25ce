package cloudwatch

import (
	stdctx "context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/ripcord/ripcord/internal/signal"
)

const (
	accessKey = "AKIDRIPCORDTEST"
	secretKey = "ripcord/test/secret+key"
	region    = "eu-west-1"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// awsEnv gives the standard credential chain exactly one source: the
// environment, and nothing from this machine's files or metadata.
func awsEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// endpoint is a local CloudWatch: it verifies each call's SigV4 signature
// with the test keys (service monitoring, the configured region), checks
// the Smithy RPC v2 CBOR body the SDK sends, and answers GetMetricData
// from points.
type endpoint struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []map[string]any
	points func(id string, q map[string]any) map[time.Time]float64
	fail   string // an error code to answer with
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{t: t}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/service/GraniteServiceVersion20100801/operation/GetMetricData" {
		e.t.Errorf("%s %s, want the RPC v2 GetMetricData operation", r.Method, r.URL.Path)
	}
	if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor" {
		e.t.Errorf("protocol headers %v", r.Header)
	}
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	date := r.Header.Get("X-Amz-Date")
	switch {
	case m == nil:
		e.t.Errorf("Authorization %q is not SigV4", r.Header.Get("Authorization"))
	case m[1] != accessKey || m[3] != region || m[4] != "monitoring" || !strings.HasPrefix(date, m[2]):
		e.t.Errorf("credential scope %q, X-Amz-Date %q: want %s/<date>/%s/monitoring", m[0], date, accessKey, region)
	case !strings.Contains(";"+m[5]+";", ";x-amz-date;") || !strings.Contains(";"+m[5]+";", ";host;"):
		e.t.Errorf("signed headers %s lack host or x-amz-date", m[5])
	case m[6] != sign(r, body, m[5], date, m[2]):
		e.t.Errorf("the signature does not verify with the chain's keys")
	}
	if _, err := time.Parse("20060102T150405Z", date); err != nil {
		e.t.Errorf("X-Amz-Date %q: %v", date, err)
	}
	var in map[string]any
	if err := cbor.Unmarshal(body, &in); err != nil {
		e.t.Errorf("body is not CBOR: %v", err)
	}
	e.calls = append(e.calls, in)
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if e.fail != "" {
		w.Header().Set("X-Amzn-Query-Error", e.fail+";Sender")
		w.WriteHeader(http.StatusBadRequest)
		b, _ := cbor.Marshal(map[string]any{"__type": "com.amazonaws.cloudwatch#" + e.fail, "message": "refused by the test"})
		_, _ = w.Write(b)
		return
	}
	var results []map[string]any
	queries, _ := in["MetricDataQueries"].([]any)
	for _, q := range queries {
		qm := q.(map[any]any)
		id := fmt.Sprint(qm["Id"])
		pts := e.points(id, toStringMap(qm))
		var ts []time.Time
		for at := range pts {
			ts = append(ts, at)
		}
		slices.SortFunc(ts, func(a, b time.Time) int { return b.Compare(a) }) // CloudWatch's default order
		vals := make([]float64, len(ts))
		for i, at := range ts {
			vals[i] = pts[at]
		}
		results = append(results, map[string]any{"Id": id, "Label": id, "Timestamps": ts, "Values": vals, "StatusCode": "Complete"})
	}
	em, _ := cbor.EncOptions{Time: cbor.TimeUnix, TimeTag: cbor.EncTagRequired}.EncMode()
	b, err := em.Marshal(map[string]any{"MetricDataResults": results, "Messages": []any{}})
	if err != nil {
		e.t.Error(err)
	}
	_, _ = w.Write(b)
}

func toStringMap(m map[any]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if mm, ok := v.(map[any]any); ok {
			v = toStringMap(mm)
		}
		out[fmt.Sprint(k)] = v
	}
	return out
}

// sign recomputes a SigV4 signature (AWS's documented algorithm) over the
// headers the request says it signed.
func sign(r *http.Request, body []byte, signed, amzDate, day string) string {
	var canon strings.Builder
	names := strings.Split(signed, ";")
	sort.Strings(names)
	for _, h := range names {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		if h == "content-length" {
			v = fmt.Sprint(r.ContentLength)
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256(body)
	req := strings.Join([]string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, canon.String(), signed, hex.EncodeToString(sum[:])}, "\n")
	rs := sha256.Sum256([]byte(req))
	scope := day + "/" + region + "/monitoring/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(rs[:])
	key := []byte("AWS4" + secretKey)
	for _, part := range []string{day, region, "monitoring", "aws4_request"} {
		key = hmacSHA(key, part)
	}
	return hex.EncodeToString(hmacSHA(key, toSign))
}

func hmacSHA(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

var albMetrics = map[string]Metric{
	"requests": {Namespace: "AWS/ApplicationELB", Name: "RequestCount", Stat: "Sum",
		Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09", "LoadBalancer": "app/shop/50dc6c495c0c9188"}},
	"errors": {Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Stat: "Sum",
		Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09", "LoadBalancer": "app/shop/50dc6c495c0c9188"}},
	"latency_p99_ms": {Namespace: "AWS/ApplicationELB", Name: "TargetResponseTime", Stat: "p99", Scale: 1000,
		Dimensions: map[string]string{"TargetGroup": "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09", "LoadBalancer": "app/shop/50dc6c495c0c9188"}},
}

func newSource(t *testing.T, e *endpoint) *Source {
	t.Helper()
	awsEnv(t)
	s, err := New(t.Context(), map[string]Config{"checkout": {Region: region, Endpoint: e.srv.URL, Metrics: albMetrics}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func read(s *Source, metric string, at time.Time) (signal.Sample, error) {
	return s.Read(stdctx.Background(), signal.Query{Service: "checkout", Version: "v2", Metric: metric, Since: at.Add(-10 * time.Second), At: at})
}

func TestGetMetricData(t *testing.T) {
	e := newEndpoint(t)
	data := map[string]map[time.Time]float64{ // by metric name
		"RequestCount":              {t0.Add(-time.Minute): 500, t0: 400},
		"HTTPCode_Target_5XX_Count": {t0.Add(-time.Minute): 5, t0: 40},
		"TargetResponseTime":        {t0.Add(-time.Minute): 0.2, t0: 0.35},
	}
	e.points = func(id string, q map[string]any) map[time.Time]float64 {
		ms := q["MetricStat"].(map[string]any)
		metric := ms["Metric"].(map[string]any)
		dims := metric["Dimensions"].([]any)
		tg := toStringMap(dims[1].(map[any]any))
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
	if len(e.calls) != 1 || len(e.calls[0]["MetricDataQueries"].([]any)) != 3 {
		t.Fatalf("%d calls: every metric of a version in one GetMetricData per interval", len(e.calls))
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
	e := newEndpoint(t)
	e.points = func(string, map[string]any) map[time.Time]float64 { return nil }
	s := newSource(t, e)
	if _, err := read(s, signal.LatencyP99, t0); !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "no data points") {
		t.Errorf("no points: %v", err)
	}
	e.mu.Lock()
	e.fail = "Throttling"
	e.mu.Unlock()
	_, err := read(s, signal.LatencyP99, t0.Add(time.Minute))
	if !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("throttled: %v", err)
	}
	n := len(e.calls)
	if _, err := read(s, signal.LatencyP99, t0.Add(2*time.Minute)); !errors.Is(err, signal.ErrNoData) || len(e.calls) != n {
		t.Errorf("called again %d times within the throttle backoff", len(e.calls)-n)
	}
	e.mu.Lock()
	e.fail = "AccessDenied"
	e.mu.Unlock()
	_, err = read(s, signal.LatencyP99, t0.Add(4*time.Minute))
	if !errors.Is(err, signal.ErrNoData) || !strings.Contains(err.Error(), "lack cloudwatch:GetMetricData") || strings.Contains(err.Error(), secretKey) {
		t.Errorf("access denied: %v", err)
	}
	e.srv.Close()
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
	awsEnv(t)
	if _, err := New(t.Context(), map[string]Config{"checkout": {Metrics: albMetrics}}); err == nil || !strings.Contains(err.Error(), "region: is required") {
		t.Errorf("no region anywhere: %v", err)
	}
}
