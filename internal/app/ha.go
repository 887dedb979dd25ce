package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	k8s "k8s.io/client-go/kubernetes"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/ha"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert/kubernetes"
	"github.com/ripcord/ripcord/internal/signal/proxystats"
	"github.com/ripcord/ripcord/internal/signal/replicastats"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/postgres"
)

// haMode is the wiring of config ha: which replica this is, and the
// PostgreSQL store every replica shares. nil without ha.
type haMode struct {
	rep *ha.Replica
	pg  *postgres.Store
	// recv takes the followers' live switch statistics while this replica
	// acts; senders (one per shard: each has its own leader) push this
	// replica's to the acting one.
	recv    *replicastats.Receiver
	senders []*replicastats.Sender
}

// newHA resolves the ha block (replica name and advertised URL from the
// environment when the config leaves them out).
func newHA(ctx context.Context, cfg *config.Config, st store.Store, a *App) (*haMode, error) {
	if cfg.HA == nil {
		return nil, nil
	}
	pg, ok := st.(*postgres.Store)
	if !ok {
		return nil, fmt.Errorf("app: ha needs a PostgreSQL store: set store.url: postgres://... or remove ha")
	}
	h, err := cfg.HA.Resolved(cfg.API.Listen)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	m := &haMode{rep: ha.New(pg, h, a.log.With("component", "ha", "replica", h.Replica)), pg: pg}
	if h.Lease == config.LeaseKubernetes {
		rc, err := kubernetes.RESTConfig(string(h.Kubernetes.Kubeconfig))
		if err != nil {
			return nil, fmt.Errorf("app: ha.lease kubernetes: %w", err)
		}
		// Every shard's election renews or polls up to every twentieth of
		// the TTL: client-go's default 5 requests/s would throttle more
		// than two shards into losing their Leases.
		rc.QPS = float32(5 * max(h.Shards, 1))
		rc.Burst = 2 * int(rc.QPS)
		cs, err := k8s.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("app: ha.lease kubernetes: %w", err)
		}
		m.rep.UseKubernetes(cs)
	}
	// The replicas authenticate their statistics with a secret only the
	// database's readers know: nothing more to configure or rotate.
	secret, err := pg.ClusterSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("app: ha: %w", err)
	}
	if m.recv, err = replicastats.NewReceiver(replicastats.ReceiverOptions{Token: secret, Self: h.Replica,
		Logger: a.log.With("component", "replica-stats")}); err != nil {
		return nil, fmt.Errorf("app: ha: %w", err)
	}
	for shard := range m.rep.Shards() {
		snd, err := replicastats.NewSender(replicastats.SenderOptions{Replica: h.Replica, Token: secret,
			Leader: func() string { return m.rep.LeaderURL(shard) }, Logger: a.log.With("component", "replica-stats")})
		if err != nil {
			return nil, fmt.Errorf("app: ha: %w", err)
		}
		m.senders = append(m.senders, snd)
	}
	return m, nil
}

// liveView is a proxied service's live statistics and header values.
type liveView interface {
	proxystats.Stats
	proxystats.HeaderStats
}

// liveStats is what a proxied service's verdicts read: its own switch, and
// with ha every replica's (the followers push theirs, header values
// included, to the acting one).
func (a *App) liveStats(service string, sw *proxy.Switch) (liveView, func() (uint64, bool)) {
	if a.ha == nil {
		return sw, sw.Activity
	}
	a.ha.senders[a.ha.rep.ShardOf(service)].Add(service, sw)
	m := a.ha.recv.Stats(service, sw)
	return m, m.Activity
}

// storeFor is the store a service's controller writes through: under its
// shard's term with ha, so a replica that lost the lease cannot write.
func (a *App) storeFor(service string) store.Store {
	shard := 0
	if a.ha != nil {
		shard = a.ha.rep.ShardOf(service)
	}
	if g := a.metricsBy[shard]; g != nil {
		return g
	}
	var st store.Store = a.store
	if a.ha != nil {
		st = a.ha.pg.UnderTerm(a.ha.rep.Term(shard))
	}
	// The services of one store share one group commit of their chart
	// points (metricbatch.go).
	g := &groupCommit{Store: st, log: a.log.Warn}
	a.metricsBy[shard] = g
	return g
}

// dispatchStore is the notification dispatcher's: under shard 0's term,
// whose leader delivers every channel's messages.
func (a *App) dispatchStore() store.Store {
	if a.ha == nil {
		return a.store
	}
	return a.ha.pg.UnderTerm(a.ha.rep.Term(0))
}

// apiHandler is the API, with ha forwarding every write to the replica
// acting for it.
func (a *App) apiHandler() http.Handler {
	h := a.api.Handler()
	if a.ha == nil {
		return h
	}
	fwd := a.ha.rep.Forward(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == replicastats.Path { // a follower's report: always this replica's own
			a.ha.recv.ServeHTTP(w, r)
			return
		}
		fwd.ServeHTTP(w, r)
	})
}

// followAll brings every service's switch to the shared state (reads
// only), before the switches serve anyone.
func (a *App) followAll(ctx context.Context) error {
	for _, s := range a.services {
		if err := s.Follow(ctx); err != nil {
			return err
		}
	}
	return nil
}

// startHA follows each committed change and contends for the leases; a
// term won runs act. The API is bound by now, so its address is known.
func (a *App) startHA(runCtx context.Context) {
	a.ha.rep.SetAdvertise("http://" + a.APIAddr())
	a.wg.Go(func() {
		_ = a.ha.pg.Listen(runCtx, 200*time.Millisecond, func(name string) { a.follow(runCtx, name) },
			func(err error) { a.log.Warn("following the shared state: listening failed; retrying", "err", err) })
	})
	a.wg.Go(func() { a.ha.rep.Run(runCtx, a.act) })
	for _, snd := range a.ha.senders {
		a.wg.Go(func() { snd.Run(runCtx) })
	}
}

// follow re-reads one service (all of them for an empty name) unless this
// replica acts for it.
func (a *App) follow(ctx context.Context, name string) {
	for _, s := range a.services {
		if name != "" && s.Name() != name {
			continue
		}
		a.ha.rep.WithShard(a.ha.rep.ShardOf(s.Name()), func(leading bool) {
			if leading {
				return
			}
			if err := s.Follow(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("following a change failed", "service", s.Name(), "err", err)
			}
		})
	}
	if a.web != nil {
		a.web.Wake() // the dashboard's viewers here see it too
	}
}

// act is one term of one shard: recover what the last leader left
// unfinished (Start completes pending decisions exactly once, under this
// term's fence), guard the shard's services, deliver notifications on
// shard 0, until the term ends; then follow again.
func (a *App) act(ctx context.Context, shard int) {
	var mine []*controller.Service
	for _, s := range a.services {
		if a.ha.rep.ShardOf(s.Name()) == shard {
			mine = append(mine, s)
		}
	}
	var wg sync.WaitGroup
	for _, s := range mine {
		for ctx.Err() == nil {
			err := s.Start(ctx)
			if err == nil {
				break
			}
			a.log.Error("taking over a service failed; retrying", "service", s.Name(), "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		wg.Go(func() { s.Run(ctx) })
		a.scheduleDrills(ctx, s, &wg)
	}
	if shard == 0 && ctx.Err() == nil {
		if wait, err := a.dispatch.Start(ctx); err != nil {
			a.log.Error("notifications not started this term", "err", err)
		} else {
			wg.Go(wait)
		}
		a.wake()
	}
	wg.Wait()
	// The term is over (its context is done): back to following, for what
	// changed while acting was refused or happened elsewhere.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, s := range mine {
		if err := s.Follow(fctx); err != nil {
			a.log.Warn("following after the term failed", "service", s.Name(), "err", err)
		}
	}
}

// HA is the replica's view of the leases, nil without ha.
func (a *App) HA() *ha.Replica {
	if a.ha == nil {
		return nil
	}
	return a.ha.rep
}

// haStatus is the API's view of the replicas, nil without ha.
func (a *App) haStatus() func() ha.Status {
	if a.ha == nil {
		return nil
	}
	names := make([]string, len(a.services))
	for i, s := range a.services {
		names[i] = s.Name()
	}
	return func() ha.Status { return a.ha.rep.Status(names) }
}
