package otlp

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/ripcord/ripcord/internal/signal"
)

const secret = "tok-9f8e7d6c5b4a"

func authReceiver(t *testing.T, logs io.Writer) (*Receiver, *httptest.Server) {
	t.Helper()
	c := &clock{t: t0}
	r, err := New(Config{Token: secret, MaxBodyBytes: 4096}, defaults(), WithClock(c.now),
		WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return r, srv
}

func body(t *testing.T) pmetricotlp.ExportRequest {
	e := newExport(svcRes("checkout", "v2")).hist(HTTPServerDuration, cumulative, t0, t0.Add(time.Second), err500, testBounds, []uint64{3, 0, 0, 0})
	return pmetricotlp.NewExportRequestFromMetrics(e.md)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func TestHTTPEncodings(t *testing.T) {
	var logs bytes.Buffer
	r, srv := authReceiver(t, &logs)
	pb, _ := body(t).MarshalProto()
	js, _ := body(t).MarshalJSON()
	bomb := gz(make([]byte, 1<<20)) // 1 MiB of zeros in about 1 KiB
	cases := []struct {
		name, ct, enc, auth string
		body                []byte
		method              string
		want                int
	}{
		{"protobuf", ctProto, "", "Bearer " + secret, pb, "POST", 200},
		{"json", ctJSON, "", "Bearer " + secret, js, "POST", 200},
		{"protobuf gzip", ctProto, "gzip", "Bearer " + secret, gz(pb), "POST", 200},
		{"json gzip", ctJSON + "; charset=utf-8", "gzip", "Bearer " + secret, gz(js), "POST", 200},
		{"no token", ctProto, "", "", pb, "POST", 401},
		{"wrong token", ctProto, "", "Bearer " + secret + "x", pb, "POST", 401},
		{"basic auth", ctProto, "", "Basic " + secret, pb, "POST", 401},
		{"text", "text/plain", "", "Bearer " + secret, pb, "POST", 415},
		{"brotli", ctProto, "br", "Bearer " + secret, pb, "POST", 415},
		{"garbage", ctProto, "", "Bearer " + secret, []byte("\xff\xff\xff"), "POST", 400},
		{"gzip bomb", ctProto, "gzip", "Bearer " + secret, bomb, "POST", 413},
		{"too large", ctJSON, "", "Bearer " + secret, bytes.Repeat([]byte(" "), 5000), "POST", 413},
		{"get", ctProto, "", "Bearer " + secret, nil, "GET", 405},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+"/v1/metrics", bytes.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		if c.enc != "" {
			req.Header.Set("Content-Encoding", c.enc)
		}
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d (%q), want %d", c.name, resp.StatusCode, out, c.want)
		}
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%s: the response contains the token", c.name)
		}
		if c.want == 200 {
			er := pmetricotlp.NewExportResponse()
			var err error
			if strings.HasPrefix(c.ct, ctJSON) {
				err = er.UnmarshalJSON(out)
			} else {
				err = er.UnmarshalProto(out)
			}
			if err != nil || er.PartialSuccess().RejectedDataPoints() != 0 {
				t.Errorf("%s: response %q does not decode as a full success: %v", c.name, out, err)
			}
		}
	}
	// Four accepted exports of the same cumulative point: counted once.
	s := mustRead(t, r, t0.Add(time.Second), signal.ErrorRate)
	if got := s.Counts[0]; got.N != 3 || got.Bad != 3 {
		t.Errorf("counts %+v, want the one point's 3 errors", got)
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the token appears in the logs")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string // "" for valid
	}{
		{Config{}, ""},
		{Config{Listen: "0.0.0.0:4318"}, "token: is required when a listener is not on a loopback address"},
		{Config{Listen: "0.0.0.0:4318", Token: secret}, ""},
		{Config{Listen: "localhost:4318", GRPCListen: "[::1]:4317"}, ""},
		{Config{Listen: "4318"}, "listen: want host:port"},
		{Config{Listen: "127.0.0.1:4318", GRPCListen: "127.0.0.1:4318"}, "grpc_listen: is the same address as listen"},
		{Config{MaxBodyBytes: 10}, "max_body_bytes: must be at least 1024"},
		{Config{Staleness: -time.Second}, "staleness: must not be negative"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestServiceConfigValidate(t *testing.T) {
	cases := []struct {
		m    map[string]Mapping
		want string
	}{
		{map[string]Mapping{"error_ratio": {Instrument: "x", Bad: map[string]string{"a": "*"}}}, `metrics.error_ratio: unknown metric "error_ratio"`},
		{map[string]Mapping{"latency_p99_ms": {}}, "metrics.latency_p99_ms.instrument: is required"},
		{map[string]Mapping{"error_rate": {Instrument: "x"}}, "metrics.error_rate.bad: is required for a rate"},
		{map[string]Mapping{"latency_p99_ms": {Instrument: "x", Bad: map[string]string{"a": "*"}}}, "metrics.latency_p99_ms.bad: only rate metrics"},
		{map[string]Mapping{"error_rate": {Instrument: "x", Bad: map[string]string{"code": ">=five"}}}, `metrics.error_rate.bad[code]: ">=five": >= needs a number`},
		{map[string]Mapping{"gpu_utilization": {Instrument: "x", Aggregate: "median"}}, `metrics.gpu_utilization.aggregate: must be mean, max or sum`},
		{map[string]Mapping{"latency_p50_ms": {Instrument: "x", Aggregate: "max"}}, `metrics.latency_p50_ms.aggregate: only gauges`},
		{map[string]Mapping{"latency_p50_ms": {Instrument: "x", Scale: -1}}, `metrics.latency_p50_ms.scale: must be a positive number`},
	}
	for _, c := range cases {
		err := ServiceConfig{Metrics: c.m}.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.m, err, c.want)
		}
	}
	if err := (ServiceConfig{}).Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	_, err := New(Config{}, map[string]ServiceConfig{"a": {ServiceName: "x"}, "b": {ServiceName: "x"}})
	if err == nil || !strings.Contains(err.Error(), `service b: service_name: "x" is already mapped`) {
		t.Errorf("two services with one service_name: %v", err)
	}
}

func TestConditions(t *testing.T) {
	e := newExport(svcRes("s", "v")).gauge("g", "1", t0, map[string]any{"code": 503, "s": "504", "f": 1.5, "name": "a"}, 1)
	attrs := e.sm.Metrics().At(0).Gauge().DataPoints().At(0).Attributes()
	for cond, want := range map[string]bool{
		"code>=500": true, "code>503": false, "code<=503": true, "code<600": true, "s>=500": true, "f>1": true,
		"name>=1": false, "missing>=1": false, "code=503": true, "name=a": true, "name=b": false,
		"name!=b": true, "missing!=b": true, "name*": true, "missing*": false, "missing!*": true, "name!*": false,
	} {
		var key, expr string
		for _, op := range []string{">=", "<=", "!=", "!*", ">", "<", "*", "="} {
			if k, v, ok := strings.Cut(cond, op); ok {
				key, expr = k, op+v
				if op == "=" {
					expr = v
				}
				break
			}
		}
		cs, err := parseConds(map[string]string{key: expr})
		if err != nil {
			t.Fatal(err)
		}
		if got := cs.all(attrs); got != want {
			t.Errorf("%s: %v, want %v", cond, got, want)
		}
	}
}
