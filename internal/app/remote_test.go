package app

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/signal/datadog"
	"github.com/ripcord/ripcord/internal/signal/otlp"
	"github.com/ripcord/ripcord/internal/signal/web"
)

// remoteKinds uses the OTLP receiver and every remote source the way the
// README shows them.
const remoteKinds = `signals:
  otlp: {listen: "127.0.0.1:0", grpc_listen: "127.0.0.1:0", token_file: otlp.token}
services:
  - name: checkout
    target:
      file: {path: active}
    versions: [{name: v1}, {name: v2}]
    signals:
      otlp: {}
      datadog:
        api_key_file: dd-api
        app_key_file: dd-app
        queries:
          requests: sum:trace.http.request.hits{service:checkout,version:{{.Version}}}.as_count()
          errors: sum:trace.http.request.errors{service:checkout,version:{{.Version}}}.as_count()
      cloudwatch:
        region: eu-west-1
        metrics:
          latency_p99_ms:
            namespace: AWS/ApplicationELB
            name: TargetResponseTime
            stat: p99
            scale: 1000
            dimensions: {TargetGroup: "targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09"}
      web:
        url: "http://127.0.0.1:1/{{.Version}}/health"
        header_files: {Authorization: web.auth}
        values: {error_rate: $.errors.rate}
`

func remoteDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"otlp.token", "dd-api", "dd-app", "web.auth"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(secretValue+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRemoteSignalsDecode(t *testing.T) {
	dir := remoteDir(t)
	cfg, err := config.Parse([]byte(remoteKinds), dir, Providers())
	if err != nil {
		t.Fatalf("as documented: %v", err)
	}
	rc, err := config.Decode[otlp.Config](*cfg.Signals.Receiver("otlp"))
	if err != nil || rc.Token.Reveal() != secretValue {
		t.Errorf("otlp receiver = %+v %v", rc, err)
	}
	sig := cfg.Services[0].Signals.Providers
	dd, err := config.Decode[datadog.Config](sig[1])
	if err != nil || dd.APIKey.Reveal() != secretValue || dd.AppKey.Reveal() != secretValue {
		t.Errorf("datadog = %+v %v", dd, err)
	}
	wc, err := config.Decode[web.Config](sig[3])
	if err != nil || string(wc.HeaderFiles["Authorization"]) != filepath.Join(dir, "web.auth") {
		t.Errorf("web = %+v %v (header files are relative to the config)", wc, err)
	}
}

// check-config's messages for the remote sources: the field, its line and
// the fix.
func TestRemoteSignalProblems(t *testing.T) {
	dir := remoteDir(t)
	tests := []struct {
		name, old, repl, path string
		line                  int
		msg                   string
	}{
		{"datadog key file missing", "api_key_file: dd-api", "api_key_file: dd-gone", "services[0].signals.datadog.api_key_file", 11,
			"file " + filepath.Join(dir, "dd-gone") + " does not exist (relative paths start at the config file's directory)"},
		{"datadog app key absent", "        app_key_file: dd-app\n", "", "services[0].signals.datadog.app_key", 10, "is required: an application key with the timeseries_query scope; set app_key_file: PATH"},
		{"datadog query without version", "version:{{.Version}}}.as_count()\n          errors", "version:v1}.as_count()\n          errors", "services[0].signals.datadog.queries.requests", 14,
			"does not use {{.Version}}: every version would get the same answer"},
		{"cloudwatch dimension without version", "checkout-{{.Version}}/", "checkout/", "services[0].signals.cloudwatch.metrics.latency_p99_ms.dimensions", 24,
			"no dimension value uses {{.Version}}"},
		{"cloudwatch region", "region: eu-west-1", "region: Ireland", "services[0].signals.cloudwatch.region", 17, `"Ireland" is not an AWS region`},
		{"web bad JSON path", "error_rate: $.errors.rate", "error_rate: $.errors..rate", "services[0].signals.web.values.error_rate", 28, "not a JSON path (keys and [index], e.g. errors.rate or $.data[0].value)"},
		{"web unknown metric", "{error_rate: $.errors.rate}", "{error_ratio: $.errors.rate}", "services[0].signals.web.values.error_ratio", 28, "unknown metric"},
		{"web url without version", "/{{.Version}}/health", "/health", "services[0].signals.web.url", 26, "must contain {{.Version}}"},
		{"web header file missing", "{Authorization: web.auth}", "{Authorization: nope}", "services[0].signals.web.header_files.Authorization", 27, "does not exist"},
		{"otlp token off loopback", `{listen: "127.0.0.1:0", grpc_listen: "127.0.0.1:0", token_file: otlp.token}`, `{listen: "0.0.0.0:4318"}`, "signals.otlp.token", 2,
			"is required when a listener is not on a loopback address"},
		{"otlp mapping", "      otlp: {}", "      otlp: {metrics: {error_rate: {instrument: http.server.request.duration}}}", "services[0].signals.otlp.metrics.error_rate.bad", 9, "is required for a rate"},
		{"receiver kind typo", "  otlp: {listen", "  otpl: {listen", "signals.otpl", 2, `unknown key "otpl" (did you mean "otlp"?); valid keys here are otlp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(remoteKinds, tt.old) {
				t.Fatalf("remoteKinds has no %q", tt.old)
			}
			_, err := config.Parse([]byte(strings.Replace(remoteKinds, tt.old, tt.repl, 1)), dir, Providers())
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("accepted, or not config.Errors: %v", err)
			}
			found := false
			for _, p := range errs {
				found = found || (p.Path == tt.path && p.Line == tt.line && strings.Contains(p.Msg, tt.msg))
			}
			if !found {
				t.Errorf("no problem at %s line %d containing %q; got:\n%v", tt.path, tt.line, tt.msg, errs)
			}
			if strings.Contains(errs.Error(), secretValue) {
				t.Errorf("a secret leaks into the problems:\n%v", errs)
			}
		})
	}
}

// serve builds every remote source, starts the OTLP receiver on its own
// listeners with the token, counts dropped data on /metrics and stops the
// listeners with the daemon.
func TestServeStartsTheOTLPReceiver(t *testing.T) {
	dir := remoteDir(t)
	if err := os.WriteFile(filepath.Join(dir, "active"), []byte("v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(remoteKinds, "services:\n", "api: {listen: \"127.0.0.1:0\"}\nstore: {url: \"sqlite://:memory:\"}\nservices:\n", 1)
	cfg, err := config.Parse([]byte(src), dir, Providers())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, Options{BaseDir: dir, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	addr := a.OTLPAddr()
	if addr == "" || a.OTLPGRPCAddr() == "" || a.OTLP() == nil {
		t.Fatalf("receiver not listening: http %q grpc %q", addr, a.OTLPGRPCAddr())
	}
	// One gauge point of service.name svc (and service.version, if set).
	post := func(token, svc, version string) int {
		attrs := `{"key":"service.name","value":{"stringValue":"` + svc + `"}}`
		if version != "" {
			attrs += `,{"key":"service.version","value":{"stringValue":"` + version + `"}}`
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/metrics", strings.NewReader(
			`{"resourceMetrics":[{"resource":{"attributes":[`+attrs+`]},`+
				`"scopeMetrics":[{"metrics":[{"name":"hw.gpu.utilization","gauge":{"dataPoints":[{"asDouble":0.5,"timeUnixNano":"1"}]}}]}]}]}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("", "payments", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	// An unmapped service, a version checkout does not have, and one it has.
	for _, p := range [][2]string{{"payments", ""}, {"checkout", "v9"}, {"checkout", "v2"}} {
		if code := post(secretValue, p[0], p[1]); code != http.StatusOK {
			t.Errorf("with the token, %s %s: %d", p[0], p[1], code)
		}
	}
	resp, err := http.Get("http://" + a.APIAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `ripcord_otlp_points_dropped_total{reason="service"} 1`) {
		t.Errorf("the unmapped service's point is not counted on /metrics:\n%s", grepLines(string(body), "ripcord_otlp"))
	}
	if !strings.Contains(string(body), `ripcord_otlp_points_dropped_total{reason="version"} 1`) {
		t.Errorf("the point for v9, a version checkout does not have, is not dropped and counted:\n%s", grepLines(string(body), "ripcord_otlp"))
	}
	if !strings.Contains(string(body), `ripcord_otlp_series 1`) {
		t.Errorf("the known version's point is not kept (one series):\n%s", grepLines(string(body), "ripcord_otlp"))
	}
	if err := a.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Post("http://"+addr+"/v1/metrics", "application/json", strings.NewReader("{}")); err == nil {
		t.Errorf("the receiver still answers after Stop")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
