// Package app builds ripcord's component graph from a config and runs it.
// It is the one place that imports every implementation: stores, switches,
// sources and targets are chosen here, explicitly, and nowhere else.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/delivery"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/kubernetes"
	"github.com/ripcord/ripcord/internal/revert/proxyswitch"
	"github.com/ripcord/ripcord/internal/signal/otlp"
	"github.com/ripcord/ripcord/internal/signal/probe"
	sigprom "github.com/ripcord/ripcord/internal/signal/prometheus"
	"github.com/ripcord/ripcord/internal/signal/proxystats"
	"github.com/ripcord/ripcord/internal/signal/push"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/web"
)

// Options are the knobs tests and the demo need beyond the config.
type Options struct {
	Logger *slog.Logger
	Hooks  controller.Hooks
	// AfterNotified is delivery.Options.AfterAccepted: a channel accepted
	// a message that is not yet recorded as delivered (a crash point).
	AfterNotified func(channel string, msg notify.Message)
	// BaseDir resolves relative paths in the config (the config file's dir).
	BaseDir string
	// StateDir receives the pointer by which the CLI finds a generated admin
	// token (and the token itself when the store is not a file). Default
	// localtoken.StateDir(): $XDG_STATE_HOME/ripcord.
	StateDir string
}

// App is a running ripcord daemon.
type App struct {
	cfg        *config.Config
	log        *slog.Logger
	store      store.Store
	push       *push.Store
	switches   map[string]*proxy.Switch
	services   []*controller.Service
	api        *api.Server
	dispatch   *delivery.Dispatcher
	probers    []*probe.Prober
	headers    *proxystats.Headers
	vars       versionVars
	scrapes    map[string]*sigprom.Gated // by service: its Prometheus signals
	promHub    *sigprom.Hub              // one scrape watch and batch per Prometheus job
	promLogger *slog.Logger              // promLog's
	watchers   []*kubernetes.Watcher
	// watcherBy shares one informer per kubeconfig and namespace.
	watcherBy map[string]*kubernetes.Watcher
	local     *localAdmin // nil when api.tokens are configured
	// pollers watch model registries for versions set outside ripcord.
	pollers []func(context.Context)
	// closers release what services hold open (schema readers).
	closers []func() error
	web     *web.Server
	// otlp is the OTLP receiver every service's signals.otlp reads from;
	// nil when no service maps OTLP and signals.otlp is absent.
	otlp         *otlp.Receiver
	otlpServices map[string]otlp.ServiceConfig
	// ha is nil unless config ha makes this one of several replicas.
	ha *haMode
	// metricsBy is each shard's store as its services' controllers write
	// to it (one shard without ha).
	metricsBy map[int]*groupCommit
	// boot answers the services' start-up reads from one snapshot and
	// saves their boot states in batches (boot.go); without ha only.
	boot *boot

	mu      sync.Mutex
	addrs   map[string]string // "api" and service names → bound address
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	servers []*http.Server
}

// New builds the graph; nothing listens until Start.
func New(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, path, err := openStore(ctx, cfg.Store, o.BaseDir)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st, switches: map[string]*proxy.Switch{}, addrs: map[string]string{},
		watcherBy: map[string]*kubernetes.Watcher{}, metricsBy: map[int]*groupCommit{}, boot: &boot{}}
	if a.ha, err = newHA(ctx, cfg, st, a); err != nil {
		_ = st.Close()
		return nil, err
	}
	retention := time.Minute
	for _, s := range cfg.Services {
		retention = max(retention, 2*s.Policy.Window)
	}
	a.push = push.New(retention)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := controller.NewMetrics(reg)
	a.headers = proxystats.NewHeaders()
	optional, err := a.optionalSources(ctx, cfg)
	if err == nil {
		err = a.buildOTLP(cfg, reg)
	}
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	ctlLog := log.With("component", "controller") // one for all: controller.New adds the service
	sources := indexSources(optional)
	for _, sc := range cfg.Services {
		svcStore := a.storeFor(sc.Name)
		if a.ha == nil {
			svcStore = a.boot.wrap(svcStore)
		}
		deps := controller.Deps{Store: svcStore, Metrics: metrics, Signals: controller.Signals{Optional: sources.For(sc.Name)},
			Logger: ctlLog, Hooks: o.Hooks, Notify: a.wake}
		deps.Trigger, deps.Also = a.triggers(sc, nil, nil)
		sr, err := schemaReader(sc)
		if err != nil {
			_ = st.Close()
			return nil, err
		}
		if sr != nil {
			deps.Schema = sr
			a.closers = append(a.closers, sr.(interface{ Close() error }).Close)
		}
		if t := sc.Target.Provider(); t != nil {
			var svc *controller.Service
			kt, err := a.target(ctx, &sc, *t, func(p string) { svc.SetProgress(p) })
			if err != nil {
				_ = st.Close()
				return nil, err
			}
			if err := canaryTarget(&sc, kt); err != nil {
				_ = st.Close()
				return nil, err
			}
			k, _ := kindNamed(targetKinds, t.Kind)
			// A target that discovers its versions knows what is live; one
			// that lists them is told of deploys through the API.
			deps.Target, deps.Router, deps.External = kt, controller.NoRouter{}, !k.listsVersions
			svc = controller.New(sc, deps)
			a.services = append(a.services, svc)
			continue
		}
		popts, err := proxyOptions(&sc, log)
		if err != nil {
			_ = st.Close()
			return nil, err
		}
		sw := proxy.New(popts)
		a.switches[sc.Name] = sw
		deps.Target, deps.Router, deps.Drill = proxyswitch.New(sw), sw, drillRouter{sw}
		live, activity := a.liveStats(sc.Name, sw)
		a.headers.Add(sc.Name, live)
		deps.Signals.Live, deps.Signals.LiveMetrics = proxystats.New(live), proxystats.Metrics
		// Judged as the switch sees errors and slow answers (and as scrapes
		// land, with a Prometheus job), and at the interval otherwise.
		deps.Trigger, deps.Also = a.triggers(sc, sw.Evidence(), activity)
		a.services = append(a.services, controller.New(sc, deps))
	}
	chans, err := channels(cfg.Notify, st)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	chans = append(chans, newReporter(cfg, st))
	a.dispatch = delivery.New(a.dispatchStore(), chans, delivery.Options{Logger: log.With("component", "notify"),
		AfterAccepted: o.AfterNotified})
	reg.MustRegister(proxyCollector{a.switches})
	tokens, err := a.apiTokens(cfg, path, o.StateDir)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	a.api = api.New(api.Options{Services: a.services, Store: st, Push: a.push, Tokens: tokens,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Logger: log.With("component", "api"), Notify: a.wake,
		Listeners: a.listeners, Web: a.newWeb(tokens, reg), HA: a.haStatus()})
	return a, nil
}

// target builds a service's revert target from its block.
func (a *App) target(ctx context.Context, sc *config.Service, b config.Block, progress func(string)) (revert.Target, error) {
	k, ok := kindNamed(targetKinds, b.Kind)
	if !ok {
		return nil, fmt.Errorf("app: service %s: target.%s: no such revert target", sc.Name, b.Kind)
	}
	t, err := k.build(ctx, a, sc, b, progress)
	if err != nil {
		where := "target." + b.Kind
		if b.Line > 0 {
			where = fmt.Sprintf("%s (line %d)", b.Path, b.Line) // from a file: its full path
		}
		return nil, fmt.Errorf("app: service %s: %s: %w", sc.Name, where, err)
	}
	return t, nil
}

// wake tells the notification dispatcher an incident changed. The
// dispatcher is built after the controllers, hence the indirection.
func (a *App) wake() {
	if a.dispatch != nil {
		a.dispatch.Wake()
	}
	if a.web != nil {
		a.web.Wake()
	}
}

// Start recovers persisted state, then opens the proxy and API listeners and
// starts the control loops.
func (a *App) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	if a.ha != nil {
		// Only the replica holding a shard's lease acts on its services:
		// here they only follow the shared state until a term begins.
		if err := a.followAll(ctx); err != nil {
			cancel()
			return err
		}
		if err := a.listenAndServe(ctx, runCtx); err != nil {
			cancel()
			return err
		}
		a.startHA(runCtx)
		a.runShared(runCtx)
		return nil
	}
	if err := a.startServices(ctx); err != nil {
		cancel()
		return err
	}
	if err := a.listenAndServe(ctx, runCtx); err != nil {
		cancel()
		return err
	}
	waitNotify, err := a.dispatch.Start(runCtx)
	if err != nil {
		cancel()
		return err
	}
	a.wg.Go(waitNotify)
	a.runShared(runCtx)
	a.runDrillSchedules(runCtx)
	for _, s := range a.services {
		a.wg.Go(func() { s.Run(runCtx) })
	}
	return nil
}

// startServices recovers every service's persisted state, on one
// snapshot of the store, and makes their boot states durable before
// anything serves or acts (boot.go).
func (a *App) startServices(ctx context.Context) error {
	if err := a.boot.load(ctx, a.store); err != nil {
		return err
	}
	for _, s := range a.services {
		if err := s.Start(ctx); err != nil {
			_ = a.boot.done(ctx)
			return err
		}
	}
	if err := a.boot.done(ctx); err != nil {
		return fmt.Errorf("app: start: save the services' states: %w", err)
	}
	return nil
}

// runShared starts what every replica runs, acting or not: probes, the
// dashboard's event hub, the Kubernetes informers and registry pollers
// (what they notice is written only by the replica acting for the
// service; elsewhere the fenced write is refused).
func (a *App) runShared(runCtx context.Context) {
	a.runProbers(runCtx)
	a.runWeb(runCtx)
	a.runWatchers(runCtx)
	a.runPollers(runCtx)
}

// listenAndServe binds every listener, refuses version URLs that point at
// one of them, and only then starts serving, so the switch never relays
// users into ripcord itself.
func (a *App) listenAndServe(ctx, runCtx context.Context) error {
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}
	proxies := map[string]net.Listener{}
	for _, sc := range a.cfg.Services {
		if sc.External() {
			continue
		}
		ln, err := net.Listen("tcp", sc.Proxy.Listen)
		if err != nil {
			closeAll()
			return fmt.Errorf("app: service %s: proxy.listen %s: %w", sc.Name, sc.Proxy.Listen, err)
		}
		lns = append(lns, ln)
		proxies[sc.Name] = ln
		a.setAddr(sc.Name, ln.Addr().String())
	}
	apiLn, err := a.listenAPI()
	if err != nil {
		closeAll()
		return err
	}
	lns = append(lns, apiLn)
	if err := a.checkVersionURLs(ctx); err != nil {
		closeAll()
		return err
	}
	if err := a.startOTLP(ctx); err != nil {
		closeAll()
		return err
	}
	for name, ln := range proxies {
		sw := a.switches[name]
		a.wg.Go(func() {
			if err := sw.Serve(runCtx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("proxy stopped", "service", name, "err", err)
			}
		})
		a.log.Info("proxy listening", "service", name, "addr", ln.Addr().String())
	}
	return a.serveAPI(apiLn)
}

// Stop shuts everything down and closes the store.
func (a *App) Stop(ctx context.Context) error {
	if a.cancel != nil {
		a.cancel()
	}
	var errs []error
	if a.local != nil && a.local.removePointer != nil {
		a.local.removePointer()
	}
	for _, srv := range a.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	if a.otlp != nil {
		errs = append(errs, a.otlp.Stop(ctx))
	}
	a.wg.Wait()
	for _, sw := range a.switches {
		errs = append(errs, sw.Close())
	}
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	errs = append(errs, a.store.Close())
	return errors.Join(errs...)
}

func (a *App) setAddr(k, v string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addrs[k] = v
}

// APIAddr is the bound API address (useful with :0).
func (a *App) APIAddr() string { a.mu.Lock(); defer a.mu.Unlock(); return a.addrs["api"] }

// ProxyAddr is the bound proxy address of a service.
func (a *App) ProxyAddr(service string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addrs[service]
}

// Service returns a service's controller, or nil.
func (a *App) Service(name string) *controller.Service {
	for _, s := range a.services {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// Switch returns a service's traffic switch, or nil.
func (a *App) Switch(name string) *proxy.Switch { return a.switches[name] }

// Store exposes the store (reports, tests).
func (a *App) Store() store.Store { return a.store }

// proxyCollector exposes per-version request counters of every switch.
type proxyCollector struct{ switches map[string]*proxy.Switch }

var (
	reqDesc  = prometheus.NewDesc("ripcord_proxy_requests_total", "Requests proxied, by service and version.", []string{"service", "version"}, nil)
	errDesc  = prometheus.NewDesc("ripcord_proxy_errors_total", "Requests that failed (5xx or upstream connection failure), by service and version.", []string{"service", "version"}, nil)
	junkDesc = prometheus.NewDesc("ripcord_proxy_unsolicited_bytes_total",
		"Bytes a version sent that no request asked for (the connection was closed, never reused), by service and version.", []string{"service", "version"}, nil)
	shadowDesc = prometheus.NewDesc("ripcord_shadow_copies",
		"What the shadow in progress did with live requests (mirrored, sent, dropped, too_large, skipped, compared, mismatched), by service and the version in shadow; absent without a shadow.",
		[]string{"service", "version", "outcome"}, nil)
)

func (c proxyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reqDesc
	ch <- errDesc
	ch <- junkDesc
	ch <- shadowDesc
}

func (c proxyCollector) Collect(ch chan<- prometheus.Metric) {
	for svc, sw := range c.switches {
		for ver, t := range sw.Totals() {
			ch <- prometheus.MustNewConstMetric(reqDesc, prometheus.CounterValue, float64(t.Requests), svc, ver)
			ch <- prometheus.MustNewConstMetric(errDesc, prometheus.CounterValue, float64(t.Errors), svc, ver)
			ch <- prometheus.MustNewConstMetric(junkDesc, prometheus.CounterValue, float64(t.Unsolicited), svc, ver)
		}
		if st, ok := sw.Shadowing(); ok {
			for outcome, n := range sw.ShadowCounts() {
				ch <- prometheus.MustNewConstMetric(shadowDesc, prometheus.GaugeValue, float64(n), svc, st.Version, outcome)
			}
		}
	}
}
