package otlp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/otlp"
)

const testToken = "s3cr3t-otlp-token-0123456789"

// startReceiver starts a real receiver on loopback ports.
func startReceiver(t *testing.T, cfg otlp.Config) *otlp.Receiver {
	t.Helper()
	cfg.Listen, cfg.GRPCListen, cfg.Token = "127.0.0.1:0", "127.0.0.1:0", testToken
	r, err := otlp.New(cfg, map[string]otlp.ServiceConfig{"checkout": {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

// backend is a real HTTP service instrumented with the OpenTelemetry SDK
// the way the HTTP semantic conventions describe: every request recorded
// in http.server.request.duration (seconds) with its status code. Every
// fourth request fails with a 503; /slow sleeps past 250ms.
type backend struct {
	srv      *httptest.Server
	n, fails atomic.Int64
}

func newBackend(t *testing.T, meter metric.Meter) *backend {
	t.Helper()
	hist, err := meter.Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		began := time.Now()
		code := http.StatusOK
		if b.n.Add(1)%4 == 0 {
			code = http.StatusServiceUnavailable
			b.fails.Add(1)
		}
		if req.URL.Path == "/slow" {
			time.Sleep(260 * time.Millisecond)
		}
		w.WriteHeader(code)
		hist.Record(req.Context(), time.Since(began).Seconds(), metric.WithAttributes(
			attribute.Int("http.response.status_code", code), attribute.String("http.route", req.URL.Path),
			attribute.String("http.request.method", req.Method)))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) load(t *testing.T, n int, path string) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := http.Get(b.srv.URL + path)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
}

func meterProvider(exp sdkmetric.Exporter, version string) *sdkmetric.MeterProvider {
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("service.version", version))
	return sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(100*time.Millisecond))))
}

// waitFor polls read until cond holds (the exporter runs on its own
// schedule); it fails after a generous deadline.
func waitFor(t *testing.T, what string, read func() (signal.Sample, error), cond func(signal.Sample, error) bool) signal.Sample {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := read()
		if cond(s, err) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %+v, %v", what, s, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSDKExporters(t *testing.T) {
	cases := []struct {
		name string
		exp  func(t *testing.T, r *otlp.Receiver) sdkmetric.Exporter
	}{
		{"http+gzip cumulative", func(t *testing.T, r *otlp.Receiver) sdkmetric.Exporter {
			e, err := otlpmetrichttp.New(t.Context(), otlpmetrichttp.WithEndpoint(r.Addr()), otlpmetrichttp.WithInsecure(),
				otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression),
				otlpmetrichttp.WithHeaders(map[string]string{"Authorization": "Bearer " + testToken}))
			must(t, err)
			return e
		}},
		{"http delta", func(t *testing.T, r *otlp.Receiver) sdkmetric.Exporter {
			e, err := otlpmetrichttp.New(t.Context(), otlpmetrichttp.WithEndpoint(r.Addr()), otlpmetrichttp.WithInsecure(),
				otlpmetrichttp.WithHeaders(map[string]string{"Authorization": "Bearer " + testToken}),
				otlpmetrichttp.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality }))
			must(t, err)
			return e
		}},
		{"grpc+gzip", func(t *testing.T, r *otlp.Receiver) sdkmetric.Exporter {
			e, err := otlpmetricgrpc.New(t.Context(), otlpmetricgrpc.WithEndpoint(r.GRPCAddr()), otlpmetricgrpc.WithInsecure(),
				otlpmetricgrpc.WithCompressor("gzip"),
				otlpmetricgrpc.WithHeaders(map[string]string{"authorization": "Bearer " + testToken}))
			must(t, err)
			return e
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := startReceiver(t, otlp.Config{Staleness: time.Second})
			mp := meterProvider(c.exp(t, r), "v2")
			defer func() { _ = mp.Shutdown(context.Background()) }()
			b := newBackend(t, mp.Meter("backend"))
			b.load(t, 196, "/pay")
			b.load(t, 4, "/slow")
			q := func(metric string, bounds ...float64) func() (signal.Sample, error) {
				return func() (signal.Sample, error) {
					now := time.Now()
					return r.Read(t.Context(), signal.Query{Service: "checkout", Version: "v2", Metric: metric,
						Since: now.Add(-time.Minute), At: now, Bounds: bounds})
				}
			}
			s := waitFor(t, "all 200 requests exported", q(signal.ErrorRate), func(s signal.Sample, err error) bool {
				return err == nil && s.Counts[0].N == 200
			})
			if got, want := s.Counts[0].Bad, float64(b.fails.Load()); got != want || want != 50 {
				t.Fatalf("bad = %g, the backend failed %g of 200", got, want)
			}
			if s.Value != 0.25 {
				t.Errorf("error_rate = %g, want 0.25", s.Value)
			}
			lat, err := q(signal.LatencyP99, 250)()
			if err != nil || lat.Counts[250] != (signal.Count{N: 200, Bad: 4}) {
				t.Errorf("latency counts above 250ms = %+v (%v), want the 4 slow requests of 200", lat.Counts, err)
			}
			// The exporter stops: after the staleness limit the metric is
			// no data (Blind), never a zero.
			must(t, mp.Shutdown(t.Context()))
			waitFor(t, "no data once the exporter stopped", q(signal.ErrorRate), func(_ signal.Sample, err error) bool {
				return errors.Is(err, signal.ErrNoData)
			})
		})
	}
}

// An exporter with the wrong token is refused on both transports and
// nothing it sends is stored.
func TestSDKWrongToken(t *testing.T) {
	r := startReceiver(t, otlp.Config{})
	he, err := otlpmetrichttp.New(t.Context(), otlpmetrichttp.WithEndpoint(r.Addr()), otlpmetrichttp.WithInsecure(),
		otlpmetrichttp.WithHeaders(map[string]string{"Authorization": "Bearer wrong"}), otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}))
	must(t, err)
	ge, err := otlpmetricgrpc.New(t.Context(), otlpmetricgrpc.WithEndpoint(r.GRPCAddr()), otlpmetricgrpc.WithInsecure(),
		otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}))
	must(t, err)
	for _, exp := range []sdkmetric.Exporter{he, ge} {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "checkout"),
			attribute.String("service.version", "v2"))), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		newBackend(t, mp.Meter("x")).load(t, 3, "/pay")
		if err := mp.ForceFlush(t.Context()); err == nil {
			t.Error("an export with a wrong or missing token succeeded")
		}
		_ = mp.Shutdown(t.Context())
	}
	if st := r.Stats(); st.Received != 0 || st.Series != 0 {
		t.Errorf("refused exports were stored: %+v", st)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
