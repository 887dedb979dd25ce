package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/lazylog"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/cloudwatch"
	"github.com/ripcord/ripcord/internal/signal/datadog"
	"github.com/ripcord/ripcord/internal/signal/otlp"
	"github.com/ripcord/ripcord/internal/signal/web"
)

// otlpSource records a service's OTLP mapping and answers for that
// service. One receiver serves every service (an exporter sends all its
// data to one endpoint, and service.name tells the services apart), so it
// is built by buildOTLP once every service's mapping is known.
func (a *App) otlpSource(_ context.Context, service string, c otlp.ServiceConfig) (controller.OptionalSource, error) {
	if a.otlpServices == nil {
		a.otlpServices = map[string]otlp.ServiceConfig{}
	}
	a.otlpServices[service] = c
	return otlpView{a: a, service: service}, nil
}

// otlpView is the shared receiver as one service's source.
type otlpView struct {
	a       *App
	service string
}

func (v otlpView) Expected(service, metric string) bool {
	return service == v.service && v.a.otlp != nil && v.a.otlp.Expected(service, metric)
}

func (v otlpView) Read(ctx context.Context, q signal.Query) (signal.Sample, error) {
	if v.a.otlp == nil {
		return signal.Sample{}, fmt.Errorf("otlp: no receiver: %w", signal.ErrNoData)
	}
	return v.a.otlp.Read(ctx, q)
}

// buildOTLP builds the receiver from signals.otlp (defaults when only
// services map OTLP: a loopback listener on 4318 that needs no token) and
// registers its received, dropped and series counters on /metrics. Nothing
// listens until startOTLP.
func (a *App) buildOTLP(cfg *config.Config, reg prometheus.Registerer) error {
	b := cfg.Signals.Receiver("otlp")
	if b == nil && len(a.otlpServices) == 0 {
		return nil
	}
	var rc otlp.Config
	if b != nil {
		var err error
		if rc, err = config.Decode[otlp.Config](*b); err != nil {
			return err
		}
	}
	// Data for a version the service does not have is dropped and counted
	// (ripcord_otlp_points_dropped_total{reason="version"}), so what a
	// client sends for versions nobody deployed cannot grow the state.
	known := func(service, version string) bool {
		s := a.Service(service)
		return s != nil && s.KnowsVersion(version)
	}
	r, err := otlp.New(rc, a.otlpServices, otlp.WithLogger(a.log.With("component", "otlp")), otlp.WithVersions(known))
	if err != nil {
		return fmt.Errorf("app: signals.otlp: %w", err)
	}
	if err := reg.Register(r); err != nil {
		return fmt.Errorf("app: signals.otlp: %w", err)
	}
	a.otlp = r
	return nil
}

// startOTLP binds the receiver's listeners (HTTP, and gRPC when set).
// Stop drains them with the API's servers.
func (a *App) startOTLP(ctx context.Context) error {
	if a.otlp == nil {
		return nil
	}
	if err := a.otlp.Start(ctx); err != nil {
		return fmt.Errorf("app: signals.otlp: %w", err)
	}
	a.setAddr("otlp", a.otlp.Addr())
	if g := a.otlp.GRPCAddr(); g != "" {
		a.setAddr("otlp-grpc", g)
	}
	return nil
}

// OTLPAddr is the OTLP receiver's bound HTTP address (useful with :0), ""
// without one.
func (a *App) OTLPAddr() string { a.mu.Lock(); defer a.mu.Unlock(); return a.addrs["otlp"] }

// OTLPGRPCAddr is the receiver's bound gRPC address, "" without one.
func (a *App) OTLPGRPCAddr() string { a.mu.Lock(); defer a.mu.Unlock(); return a.addrs["otlp-grpc"] }

// OTLP is the receiver (tests, benchmarks), or nil.
func (a *App) OTLP() *otlp.Receiver { return a.otlp }

// datadogSource reads a service's metrics from Datadog's timeseries API.
func (a *App) datadogSource(_ context.Context, service string, c datadog.Config) (controller.OptionalSource, error) {
	return datadog.New(map[string]datadog.Config{service: c},
		datadog.WithLogger(lazylog.With(a.log, "component", "datadog", "service", service)))
}

// cloudwatchSource reads a service's metrics with GetMetricData, with
// credentials from the standard AWS chain.
func (a *App) cloudwatchSource(ctx context.Context, service string, c cloudwatch.Config) (controller.OptionalSource, error) {
	return cloudwatch.New(ctx, map[string]cloudwatch.Config{service: c},
		cloudwatch.WithLogger(lazylog.With(a.log, "component", "cloudwatch", "service", service)))
}

// webSource reads a service's metrics from a JSON endpoint.
func (a *App) webSource(_ context.Context, service string, c web.Config) (controller.OptionalSource, error) {
	return web.New(map[string]web.Config{service: c}, web.WithLogger(lazylog.With(a.log, "component", "web", "service", service)))
}
