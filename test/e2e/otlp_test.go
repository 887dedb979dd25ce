package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/ripcord/ripcord/internal/incident"
)

const otlpToken = "otlp-e2e-token-5f0c3b9a17d2"

// otelBackend is a real HTTP service instrumented with the OpenTelemetry
// Go SDK as the HTTP semantic conventions describe: every request goes
// into http.server.request.duration (seconds) with its status code, and a
// periodic reader exports it over OTLP/HTTP (gzip, bearer token) to
// ripcord's receiver. Nothing else tells ripcord about it.
type otelBackend struct {
	version string
	errPM   atomic.Int64
	hits    atomic.Int64
	srv     *httptest.Server
	mp      *sdkmetric.MeterProvider
}

func newOtelBackend(t *testing.T, receiver, version string, every time.Duration) *otelBackend {
	t.Helper()
	exp, err := otlpmetrichttp.New(t.Context(), otlpmetrichttp.WithEndpoint(receiver), otlpmetrichttp.WithInsecure(),
		otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression),
		otlpmetrichttp.WithHeaders(map[string]string{"Authorization": "Bearer " + otlpToken}))
	if err != nil {
		t.Fatal(err)
	}
	return newOtelBackendWith(t, exp, version, every)
}

func newOtelBackendWith(t *testing.T, exp sdkmetric.Exporter, version string, every time.Duration) *otelBackend {
	t.Helper()
	b := &otelBackend{version: version}
	b.mp = sdkmetric.NewMeterProvider(
		sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("service.version", version))),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(every))))
	t.Cleanup(func() { _ = b.mp.Shutdown(context.Background()) })
	hist, err := b.mp.Meter("checkout").Float64Histogram("http.server.request.duration", metric.WithUnit("s"))
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		b.hits.Add(1)
		code := http.StatusOK
		if rand.Int64N(1000) < b.errPM.Load() {
			code = http.StatusInternalServerError
		}
		w.WriteHeader(code)
		hist.Record(r.Context(), time.Since(began).Seconds(), metric.WithAttributes(
			attribute.Int("http.response.status_code", code), attribute.String("http.route", "/pay"),
			attribute.String("http.request.method", r.Method)))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// drive sends rate requests per second straight to the backend (no ripcord
// proxy in the path) until the returned stop is called.
func (b *otelBackend) drive(rate int) (stop func()) {
	return openLoop(b.srv.URL+"/pay", rate, func(*http.Response, error) {})
}

// otlpEnv boots a daemon from a file whose only signal for service svc is
// the OTLP receiver (checkout's data), reverting by rewriting a file.
func otlpEnv(t *testing.T, extraReceiver string) (*env, string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "otlp.token"), otlpToken+"\n", 0o600)
	active := filepath.Join(dir, "ACTIVE_VERSION")
	writeFile(t, active, "v2\n", 0o644)
	e := fileEnv(t, dir, fmt.Sprintf(`signals:
  otlp: {listen: "127.0.0.1:0", token_file: otlp.token%s}
services:
  - name: svc
    versions: [{name: v1}, {name: v2}]
    target:
      file: {path: ACTIVE_VERSION}
    signals:
      otlp: {service_name: checkout}
    policy:
      interval: 20ms
      window: 2s
      verify: 500ms
      bake: 1m
      blind_grace: 500ms
      require: 1
      thresholds:
        error_rate: {max: 0.05}
`, extraReceiver))
	return e, active
}

// TestOTLPAloneRollsBackABadVersion: v2 fails 30% of its requests; the
// only thing ripcord sees is what the SDK exports, and it reverts to v1.
func TestOTLPAloneRollsBackABadVersion(t *testing.T) {
	e, active := otlpEnv(t, "")
	b := newOtelBackend(t, e.app.OTLPAddr(), "v2", 200*time.Millisecond)
	b.errPM.Store(300)
	stop := b.drive(200)
	defer stop()
	s := e.waitFor("the revert", 30*time.Second, func(s statusT) bool { return s.Active == "v1" })
	if got, _ := os.ReadFile(active); string(got) != "v1\n" {
		t.Fatalf("ACTIVE_VERSION holds %q after the revert (%+v)", got, s)
	}
	inc := incidentOf(t, e, "svc", incident.EvRollbackDone)
	if tl := timeline(inc); !strings.Contains(tl, "error_rate") {
		t.Errorf("the incident does not say error_rate decided it:\n%s", tl)
	}
	if st := e.app.OTLP().Stats(); st.Received == 0 {
		t.Errorf("nothing was received over OTLP: %+v", st)
	}
}

// TestOTLPExporterThatStopsIsBlind: a healthy v2 whose exporter stops is
// Blind once the staleness limit passes — never a rollback.
func TestOTLPExporterThatStopsIsBlind(t *testing.T) {
	e, active := otlpEnv(t, ", staleness: 1s")
	b := newOtelBackend(t, e.app.OTLPAddr(), "v2", 200*time.Millisecond)
	stop := b.drive(200)
	defer stop()
	e.waitFor("healthy from OTLP", 20*time.Second, func(s statusT) bool { return s.Verdict == "healthy" })
	if err := b.mp.Shutdown(t.Context()); err != nil { // the exporter stops; traffic goes on
		t.Fatal(err)
	}
	s := e.waitFor("blind", 20*time.Second, func(s statusT) bool { return s.Verdict == "blind" })
	if s.Active != "v2" {
		t.Fatalf("reverted on missing data: %+v", s)
	}
	e.waitIncident("a blind incident", 10*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindBlind })
	for _, i := range e.incidents() {
		if i.Kind != incident.KindBlind {
			t.Fatalf("unexpected incident %+v", i)
		}
	}
	if got, _ := os.ReadFile(active); string(got) != "v2\n" {
		t.Fatalf("ACTIVE_VERSION holds %q", got)
	}
}

// TestOTLPOverGRPCRollsBack: the same through the gRPC MetricsService on
// the receiver's own gRPC listener, the token as authorization metadata.
func TestOTLPOverGRPCRollsBack(t *testing.T) {
	e, active := otlpEnv(t, `, grpc_listen: "127.0.0.1:0"`)
	exp, err := otlpmetricgrpc.New(t.Context(), otlpmetricgrpc.WithEndpoint(e.app.OTLPGRPCAddr()), otlpmetricgrpc.WithInsecure(),
		otlpmetricgrpc.WithCompressor("gzip"), otlpmetricgrpc.WithHeaders(map[string]string{"authorization": "Bearer " + otlpToken}))
	if err != nil {
		t.Fatal(err)
	}
	b := newOtelBackendWith(t, exp, "v2", 200*time.Millisecond)
	b.errPM.Store(300)
	stop := b.drive(200)
	defer stop()
	e.waitFor("the revert", 30*time.Second, func(s statusT) bool { return s.Active == "v1" })
	if got, _ := os.ReadFile(active); string(got) != "v1\n" {
		t.Fatalf("ACTIVE_VERSION holds %q after the revert", got)
	}
}
