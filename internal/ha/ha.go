// Package ha lets several `ripcord serve` replicas on one PostgreSQL act
// as one guard, with the database's machinery rather than a consensus of
// our own: each shard of the services has a lease (a row with an expiry
// and a fencing epoch, postgres.Acquire); the replica holding it acts for
// the shard's services (decides, reverts, notifies), and every write it
// makes while acting carries the lease (postgres.Term), so a deposed
// leader's late write is refused by the database. The others follow: they
// serve the API, forward its writes to the leader (Forward) and keep their
// built-in switches on the shared active version (postgres.Listen).
//
// A leader stops acting before its lease can end: every term's context is
// cancelled a margin before the deadline measured on this process's
// monotonic clock from the start of the last successful renewal, which is
// never later than the database's own expiry. So even cut off from the
// database (where its writes would fail anyway) it stops touching targets
// outside the database before a follower may take over.
//
// With ha.lease: kubernetes the election is client-go's on a
// coordination.k8s.io Lease per shard instead (kube.go), and the fence is
// still the row: the elected replica assumes it with the next epoch.
package ha

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store/postgres"
)

// Acting is what a replica does while it holds a shard's lease: it runs
// until ctx ends (the term is over) and must have stopped acting when it
// returns.
type Acting func(ctx context.Context, shard int)

// Replica runs one replica's side of the leases.
type Replica struct {
	st      *postgres.Store
	cfg     config.HA
	log     *slog.Logger
	started time.Time
	shards  []*shard
	// kube elects with Kubernetes Leases (UseKubernetes); nil: the
	// store's lease rows.
	kube kubernetes.Interface

	mu       sync.Mutex
	leases   map[string]postgres.LeaseState
	replicas []postgres.Replica
	// changed is closed and replaced whenever a term starts or ends, for
	// tests and for `ripcord status` watchers.
	changed chan struct{}
}

type shard struct {
	idx  int
	name string
	term *postgres.Term
	// mu is held while a term starts or ends, so whoever asks Leads under
	// it sees no half-started term.
	mu      sync.Mutex
	leading bool
	// yieldUntil: this replica gave the lease up to rebalance and leaves
	// it to the others until then (only the shard's own loop uses it).
	yieldUntil time.Time
}

// New prepares replica cfg (resolved: config.HA.Resolved) on st.
func New(st *postgres.Store, cfg config.HA, log *slog.Logger) *Replica {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Replica{st: st, cfg: cfg, log: log, started: time.Now(), changed: make(chan struct{})}
	for i := range max(cfg.Shards, 1) {
		name := fmt.Sprintf("shard-%d", i)
		r.shards = append(r.shards, &shard{idx: i, name: name, term: postgres.NewTerm(name)})
	}
	return r
}

// SetAdvertise sets the URL the other replicas reach this one's API at,
// when it is known only once the API has bound (api.listen port 0). Call
// it before Run.
func (r *Replica) SetAdvertise(u string) {
	if r.cfg.Advertise == "" {
		r.cfg.Advertise = u
	}
}

// Name is this replica's name.
func (r *Replica) Name() string { return r.cfg.Replica }

// Shards is how many shards there are.
func (r *Replica) Shards() int { return len(r.shards) }

// ShardOf is the shard a service belongs to: a hash of its name, so every
// replica agrees without asking anyone.
func (r *Replica) ShardOf(service string) int {
	if len(r.shards) == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(service))
	return int(h.Sum32() % uint32(len(r.shards)))
}

// Term is the term a shard's writes are fenced by: give each service's
// controller a store viewed UnderTerm(r.Term(r.ShardOf(name))).
func (r *Replica) Term(shard int) *postgres.Term { return r.shards[shard].term }

// Leads reports whether this replica is acting for shard now.
func (r *Replica) Leads(shard int) bool {
	_, ok := r.shards[shard].term.Current()
	return ok
}

// WithShard runs fn while shard's term cannot start or end, telling it
// whether this replica leads the shard.
func (r *Replica) WithShard(shard int, fn func(leading bool)) {
	s := r.shards[shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.leading)
}

// Changed returns a channel closed at the next term start or end.
func (r *Replica) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

func (r *Replica) signal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.changed)
	r.changed = make(chan struct{})
}

// renewEvery is how often a holder renews; retryEvery how often a
// follower tries a lease it may take; margin how long before its
// deadline a holder that could not renew stops acting.
func (r *Replica) renewEvery() time.Duration { return r.cfg.LeaseTTL / 3 }
func (r *Replica) retryEvery() time.Duration { return max(r.cfg.LeaseTTL/20, 5*time.Millisecond) }
func (r *Replica) margin() time.Duration     { return r.cfg.LeaseTTL / 5 }

// Run keeps the replica's heartbeat and contends for every shard until
// ctx ends, running act for each term it wins. On return every term has
// ended and the leases it held are released, so a follower takes over at
// once instead of after the TTL.
func (r *Replica) Run(ctx context.Context, act Acting) {
	var wg sync.WaitGroup
	wg.Go(func() { r.heartbeat(ctx) })
	for _, s := range r.shards {
		if r.kube != nil {
			wg.Go(func() { r.contendKube(ctx, s, act) })
		} else {
			wg.Go(func() { r.contend(ctx, s, act) })
		}
	}
	wg.Wait()
}

func (r *Replica) heartbeat(ctx context.Context) {
	t := time.NewTicker(r.renewEvery())
	defer t.Stop()
	for {
		if err := r.st.Heartbeat(ctx, r.cfg.Replica, r.cfg.Advertise, r.started); err != nil && ctx.Err() == nil {
			r.log.Warn("replica heartbeat failed", "err", err)
		}
		r.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh re-reads who holds what, for LeaderURL and Status.
func (r *Replica) refresh(ctx context.Context) {
	ls, err := r.st.Leases(ctx)
	if err != nil {
		return
	}
	reps, err := r.st.Replicas(ctx, 3*r.cfg.LeaseTTL)
	if err != nil {
		return
	}
	m := make(map[string]postgres.LeaseState, len(ls))
	for _, l := range ls {
		m[l.Name] = l
	}
	r.mu.Lock()
	r.leases, r.replicas = m, reps
	r.mu.Unlock()
}

// fairShare is how many shards this replica should hold at most while
// others are alive: it takes more only when a lease stays free.
func (r *Replica) fairShare() int {
	r.mu.Lock()
	n := len(r.replicas)
	r.mu.Unlock()
	n = max(n, 1)
	return (len(r.shards) + n - 1) / n
}

// overShare reports whether this replica should give up shard to
// rebalance: it holds more than its fair share, and shard is the highest
// it holds (so one lease goes at a time, not all at once).
func (r *Replica) overShare(shard int) bool {
	if r.held() <= r.fairShare() {
		return false
	}
	for i := len(r.shards) - 1; i >= 0; i-- {
		if r.Leads(i) {
			return i == shard
		}
	}
	return false
}

func (r *Replica) held() int {
	n := 0
	for _, s := range r.shards {
		if r.Leads(s.idx) {
			n++
		}
	}
	return n
}

// contend is one shard's loop with lease: postgres: take the lease when
// it is free, renew it while holding it, and end the term when it is lost
// or about to lapse.
func (r *Replica) contend(ctx context.Context, s *shard, act Acting) {
	var (
		t    *running
		held bool // ever held: release at the end
	)
	end := func(why string) {
		if t != nil {
			r.end(t, why)
			t = nil
		}
	}
	defer func() {
		end("shutting down")
		if held {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = r.st.Release(rctx, s.name, r.cfg.Replica)
			cancel()
		}
	}()
	lost := 0
	for {
		wait := r.retryEvery()
		if t != nil && r.overShare(s.idx) {
			// Another replica has come: hand it this shard. A clean hand-
			// over, as at shutdown: end the term, then release the lease.
			end("rebalancing: this replica holds more than its share of the shards")
			rctx, cancel := context.WithTimeout(ctx, r.renewEvery())
			_ = r.st.Release(rctx, s.name, r.cfg.Replica)
			cancel()
			s.yieldUntil = time.Now().Add(2 * r.cfg.LeaseTTL)
		}
		if t == nil && time.Now().Before(s.yieldUntil) {
			lost = 0 // leave it to the others for a while
		} else if t != nil || r.held() < r.fairShare() || lost > 20 {
			actx, cancel := context.WithTimeout(ctx, r.renewEvery())
			l, err := r.st.Acquire(actx, s.name, r.cfg.Replica, r.cfg.LeaseTTL)
			cancel()
			switch {
			case err == nil && t != nil && l.Epoch != t.lease.Epoch:
				// Our lease lapsed and we took it again: a new term, since
				// someone may have acted in between.
				end("the lease lapsed before it was renewed")
				fallthrough
			case err == nil && t == nil:
				t, held = r.begin(ctx, s, l, act), true
				wait, lost = r.renewEvery(), 0
			case err == nil:
				// A renewal: same epoch, a later deadline. (If the deadline
				// fired meanwhile the term is already cancelled; end it.)
				if !r.extend(t, l) {
					end("the lease would end before it could be renewed")
					continue
				}
				wait = r.renewEvery()
			case errors.Is(err, postgres.ErrLeaseHeld):
				end("another replica holds the lease")
				lost = 0
			default:
				if ctx.Err() != nil {
					return
				}
				// Cannot reach the database: keep acting only until the
				// deadline fires; retry soon.
				r.log.Warn("lease renewal failed", "shard", s.name, "err", err)
			}
		} else {
			lost++ // a lease we did not ask for; after a while take it anyway
		}
		var expired <-chan struct{}
		if t != nil {
			expired = t.expired
		}
		select {
		case <-ctx.Done():
			return
		case <-expired:
			end("the lease would end before it could be renewed")
		case <-time.After(wait):
		}
	}
}
