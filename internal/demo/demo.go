// Package demo is `ripcord demo`: the whole loop on the embedded default, with
// nothing to set up. It starts two real HTTP backends (v1 healthy, v2 with an
// injected fault), the daemon with its traffic switch and a SQLite store in a
// temporary directory, an open-loop load generator and a stand-in evaluation
// pipeline that pushes quality scores; deploys v2, shows a live view while
// ripcord watches, and prints what happened.
//
// The demo always watches for the same time, fault or not, so `--fault none`
// takes as long as a real fault and proves ripcord did nothing.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
)

const service = "llm-api"

// Options are the demo's flags.
type Options struct {
	Fault  string
	Rate   int           // requests per second
	Warmup time.Duration // on v1 before the deploy
	Watch  time.Duration // after the deploy, whatever happens
	Keep   bool          // leave the daemon running afterwards
	// RetryOnPrevious turns on the switch's retry of failed requests on the
	// previous version, which hides a bad deploy from users entirely.
	RetryOnPrevious bool
	DBPath          string    // "" = a temporary directory
	Out             io.Writer // live view and summary
	Logger          *slog.Logger
	// For bench/detect: ErrorShare replaces the error fault's 50 %;
	// DelayMin/DelayMax the latency fault's 1.5 s (uniform between them);
	// Policy adjusts the service's policy before the daemon starts.
	ErrorShare         float64
	DelayMin, DelayMax time.Duration
	Policy             func(*config.Policy)
}

// Result is the demo's outcome; JSON field names are a stable interface
// (bench/ parses them).
type Result struct {
	Fault         string  `json:"fault"`
	RolledBack    bool    `json:"rolled_back"`
	DetectSeconds float64 `json:"detect_seconds"`
	RevertSeconds float64 `json:"revert_seconds"`
	BadRequests   int64   `json:"bad_requests"`
	TotalRequests int64   `json:"total_requests"`
	ServedByBad   int64   `json:"served_by_bad"`
	IncidentID    string  `json:"incident_id"`
	Reason        string  `json:"reason,omitempty"`
	Rate          int     `json:"rate"`
}

// Matches reports whether the outcome is the one the fault calls for.
func (r Result) Matches() bool { return r.RolledBack == (r.Fault != FaultNone) }

// Run plays the demo.
func Run(ctx context.Context, o Options) (Result, error) {
	res := Result{Fault: o.Fault, Rate: o.Rate}
	if !slices.Contains(Faults, o.Fault) {
		return res, fmt.Errorf("demo: --fault %q: use one of %v", o.Fault, Faults)
	}
	if o.Rate < 1 || o.Rate > 20000 {
		return res, fmt.Errorf("demo: --rate %d: use 1..20000 requests per second", o.Rate)
	}
	v1, err := startBackend(&backend{version: "v1", fault: FaultNone})
	if err != nil {
		return res, err
	}
	v2, err := startBackend(&backend{version: "v2", fault: o.Fault, errShare: o.ErrorShare, delayMin: o.DelayMin, delayMax: o.DelayMax})
	if err != nil {
		return res, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		v1.stop(sctx)
		v2.stop(sctx)
	}()
	dbPath, cleanup, err := dbFile(o.DBPath)
	if err != nil {
		return res, err
	}
	defer cleanup()
	cfg := Config(v1.url, dbPath, o.Keep)
	cfg.Reports.Dir = filepath.Join(filepath.Dir(dbPath), "reports")
	cfg.Services[0].Proxy.RetryOnPrevious.Enabled = o.RetryOnPrevious
	if o.Policy != nil {
		o.Policy(&cfg.Services[0].Policy)
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: o.Logger})
	if err != nil {
		return res, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Stop(context.Background())
		return res, err
	}
	defer func() {
		if o.Keep {
			_, tokenFile := a.LocalToken()
			fmt.Fprintf(o.Out, "\nripcord keeps running: API %s (admin token in %s), traffic %s. Try, in another shell:\n  ripcord status\n  ripcord incidents show %s\nCtrl-C to stop.\n",
				a.APIAddr(), tokenFile, a.ProxyAddr(service), res.IncidentID)
			<-ctx.Done()
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Stop(sctx)
	}()
	token, _ := a.LocalToken()
	client := apiclient.New("http://"+a.APIAddr(), token)
	// Assigned, not returned directly: the deferred --keep message above
	// names the incident.
	res, err = play(ctx, o, client, a, v2.url, res)
	return res, err
}

// play runs warm-up, deploy and watch, then reads the outcome from the API.
func play(ctx context.Context, o Options, c *apiclient.Client, a *app.App, v2URL string, res Result) (Result, error) {
	l := newLoad("http://"+a.ProxyAddr(service), o.Rate)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan struct{})
	go func() { l.run(loadCtx); close(loadDone) }()
	go pipeline(loadCtx, c, o.Fault)

	fmt.Fprintf(o.Out, "ripcord demo: %d req/s through the switch at %s; v1 is live. Fault in v2: %s.\n", o.Rate, a.ProxyAddr(service), o.Fault)
	live(ctx, o.Out, l, c, time.Now(), o.Warmup)
	deployAt := time.Now()
	if _, err := c.Deploy(ctx, service, "v2", v2URL); err != nil {
		return res, fmt.Errorf("demo: deploy v2: %w", err)
	}
	fmt.Fprintf(o.Out, "deployed v2 — watching for %s\n", o.Watch)
	live(ctx, o.Out, l, c, deployAt, o.Watch)
	stopLoad()
	<-loadDone
	res.TotalRequests, res.BadRequests, res.ServedByBad = l.total.Load(), l.failed.Load(), l.served("v2")
	return outcome(ctx, c, deployAt, res)
}

func outcome(ctx context.Context, c *apiclient.Client, deployAt time.Time, res Result) (Result, error) {
	incs, err := c.Incidents(ctx, service, false)
	if err != nil {
		return res, err
	}
	for _, brief := range incs {
		// An incident from before this deploy is an earlier run's (--db
		// keeps the store): it says nothing about this one.
		if brief.Kind != incident.KindRollback || brief.CreatedAt.Before(deployAt) {
			continue
		}
		inc, err := c.Incident(ctx, brief.ID)
		if err != nil {
			return res, err
		}
		res.IncidentID, res.Reason = inc.ID, inc.Reason
		res.DetectSeconds = inc.DetectedAt.Sub(deployAt).Seconds()
		for _, e := range inc.Events {
			if e.Type == incident.EvRollbackDone {
				res.RolledBack = true
				res.RevertSeconds = e.At.Sub(deployAt).Seconds()
				break
			}
		}
	}
	return res, nil
}

// live prints one progress line per second for d.
func live(ctx context.Context, w io.Writer, l *load, c *apiclient.Client, t0 time.Time, d time.Duration) {
	end := time.Now().Add(d)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-time.After(time.Until(end)):
		}
		s := l.takeSecond()
		st, err := c.Service(ctx, service)
		if err != nil {
			fmt.Fprintf(w, "  status unavailable: %v\n", err)
			continue
		}
		errRate := 0.0
		if s.requests > 0 {
			errRate = 100 * float64(s.failed) / float64(s.requests)
		}
		fmt.Fprintf(w, "  %+5.1fs  %-3s  %4d req/s  errors %5.1f%%  p99 %7s  %-12s %-9s %s\n", time.Since(t0).Seconds(),
			st.Active, s.requests, errRate, p99(s.latencies).Round(time.Millisecond/10), st.Verdict, st.State, st.Reason)
	}
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[(len(lat)*99)/100]
}

// pipeline stands in for an LLM evaluation pipeline: every 200 ms it scores
// the answers the live version gave since the last batch (40 at the demo's
// 200 req/s) and pushes the result. The sequential tests count each scored
// answer once: a 3 % toxicity against a 1 % bound takes some 500 of them.
func pipeline(ctx context.Context, c *apiclient.Client, fault string) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := c.Service(ctx, service)
		if err != nil {
			continue
		}
		q, tox := 0.88+rand.Float64()*0.06, 0.002
		if st.Active == "v2" && fault == FaultQuality {
			q, tox = 0.55+rand.Float64()*0.04, 0.03
		}
		_ = c.PushSignals(ctx, service, api.SignalsRequest{Version: st.Active, Samples: 40,
			Values: map[string]float64{"quality_score": q, "toxic_output_rate": tox}})
	}
}

// Config is the demo's daemon config: the default policy plus a p50 bound,
// so a latency regression shows on two metrics as it would in production.
func Config(v1URL, dbPath string, keep bool) *config.Config {
	pol := config.DefaultPolicy()
	p50, p99max, p99crit := 400.0, 1000.0, 5000.0
	pol.Thresholds["latency_p50_ms"] = config.Threshold{Max: &p50}
	pol.Thresholds["latency_p99_ms"] = config.Threshold{Max: &p99max, Critical: &p99crit}
	apiAddr := "127.0.0.1:0"
	if keep {
		apiAddr = "127.0.0.1:7070"
	}
	return &config.Config{
		API:   config.API{Listen: apiAddr},
		Store: config.Store{URL: "sqlite://" + dbPath},
		Services: []config.Service{{
			Name:     service,
			Proxy:    config.Proxy{Listen: "127.0.0.1:0", RetryOnPrevious: config.RetryOnPrevious{MaxBodyBytes: config.DefaultMaxBodyBytes}},
			Versions: []config.Version{{Name: "v1", URL: v1URL}},
			Active:   "v1",
			Policy:   pol,
		}},
	}
}

func dbFile(path string) (string, func(), error) {
	if path != "" {
		return path, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "ripcord-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("demo: temp dir: %w", err)
	}
	return filepath.Join(dir, "ripcord.db"), func() { _ = os.RemoveAll(dir) }, nil
}

// JSON renders the result as one line.
func (r Result) JSON() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// Summary writes the human-readable outcome.
func (r Result) Summary(w io.Writer) {
	fmt.Fprintln(w)
	switch {
	case r.RolledBack:
		fmt.Fprintf(w, "Rolled back v2 → v1 %.2f s after the deploy (bad verdict confirmed at %.2f s).\n", r.RevertSeconds, r.DetectSeconds)
		fmt.Fprintf(w, "Why: %s\n", r.Reason)
	case r.Fault == FaultNone:
		fmt.Fprintln(w, "v2 was healthy and stayed live: no rollback, as it should be.")
	default:
		fmt.Fprintf(w, "v2 had a %s fault and was NOT rolled back.\n", r.Fault)
	}
	share := 0.0
	if r.TotalRequests > 0 {
		share = 100 * float64(r.BadRequests) / float64(r.TotalRequests)
	}
	fmt.Fprintf(w, "Requests: %d sent, %d failed (%.1f%%), %d served by v2.\n", r.TotalRequests, r.BadRequests, share, r.ServedByBad)
	if r.IncidentID != "" {
		fmt.Fprintf(w, "Incident %s records the decision, its numbers and the timeline.\n", r.IncidentID)
	}
}
