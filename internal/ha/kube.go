package ha

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/ripcord/ripcord/internal/store/postgres"
)

// UseKubernetes makes the replica's leader election client-go's, on one
// coordination.k8s.io Lease per shard (NAME-shard-N in the namespace of
// ha.kubernetes), instead of the store's lease rows (ha.lease:
// kubernetes). Call it before Run.
//
// The election picks who acts; the fence stays in the store: the elected
// replica assumes the shard's lease row with the next epoch at once (the
// election has already waited out the last leader's Lease) and renews it
// while it leads, so a deposed leader's late write is refused by the
// database exactly as with lease: postgres.
func (r *Replica) UseKubernetes(client kubernetes.Interface) {
	r.kube = client
}

// LeaseName is the Kubernetes Lease a shard is elected by.
func (r *Replica) LeaseName(shard int) string {
	return r.cfg.Kubernetes.Name + "-" + r.shards[shard].name
}

// electionTimes are client-go's election settings for a Lease of ttl.
//
// A follower judges a Lease expired ttl after it last saw the record
// change, and the record it compares carries the renewal time in whole
// seconds: it may see no change for up to a second while the leader
// renews. So a follower may take over as early as ttl - 1s after the
// leader's last renewal. The leader renews every twentieth of ttl and
// gives up (stops acting) renewDeadline after a failing round began, so
// it has stopped within retry + renewDeadline = 0.7 ttl - 1s of its last
// renewal: a tenth of ttl before any follower may act. That needs ttl
// >= 2s; config.MinKubeLeaseTTL is 4s, so that a renewal has 1.6s to
// answer on a busy API server before the leader gives up. Followers poll
// every retry to 2.2 retry.
func electionTimes(ttl time.Duration) (renewDeadline, retry time.Duration) {
	retry = ttl / 20
	return ttl*7/10 - time.Second - retry, retry
}

// contendKube is one shard's loop with lease: kubernetes.
func (r *Replica) contendKube(ctx context.Context, s *shard, act Acting) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: r.cfg.Kubernetes.Namespace, Name: r.LeaseName(s.idx)},
		Client:     r.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: r.cfg.Replica},
	}
	renewDeadline, retry := electionTimes(r.cfg.LeaseTTL)
	lost := 0
	for ctx.Err() == nil {
		// Hold no more than a fair share while the others are alive; a
		// lease nobody takes is taken after a while anyway.
		if time.Now().Before(s.yieldUntil) || (r.held() >= r.fairShare() && lost <= 20) {
			lost++
			select {
			case <-ctx.Done():
			case <-time.After(r.retryEvery()):
			}
			continue
		}
		lost = 0
		elected := make(chan context.Context, 1)
		// The election's own context outlives ctx: the term ends first,
		// and only then is the Lease released (ReleaseOnCancel), so no
		// follower acts while this replica still does.
		ectx, cancelE := context.WithCancel(context.WithoutCancel(ctx))
		// client-go logs through the logger its context carries: ours.
		ectx = klog.NewContext(ectx, logr.FromSlogHandler(r.log.With("lease", lock.LeaseMeta.Name).Handler()))
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, Name: lock.LeaseMeta.Name, ReleaseOnCancel: true,
			LeaseDuration: r.cfg.LeaseTTL, RenewDeadline: renewDeadline, RetryPeriod: retry,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) { elected <- lctx },
				OnStoppedLeading: func() {},
			},
		})
		if err != nil { // the config validated lease_ttl: cannot happen
			cancelE()
			r.log.Error("kubernetes leader election", "shard", s.name, "err", err)
			return
		}
		ran := make(chan struct{})
		go func() { defer close(ran); le.Run(ectx) }()
		select {
		case <-ctx.Done():
		case lctx := <-elected:
			r.leadKube(ctx, lctx, s, act)
		}
		cancelE()
		<-ran
	}
}

// leadKube is one term won by election: assume the store's lease, act,
// renew it, until the Lease is lost, the replica stops, it must hand the
// shard over, or the fence is lost. The term has ended when it returns.
func (r *Replica) leadKube(ctx, lctx context.Context, s *shard, act Acting) {
	actx, cancel := context.WithTimeout(lctx, r.renewEvery())
	l, err := r.st.Assume(actx, s.name, r.cfg.Replica, r.cfg.LeaseTTL)
	cancel()
	if err != nil {
		if lctx.Err() == nil {
			r.log.Warn("elected, but taking the store's lease failed; giving the election up", "shard", s.name, "err", err)
		}
		return
	}
	t := r.begin(ctx, s, l, act)
	for {
		select {
		case <-ctx.Done():
			r.end(t, "shutting down")
			return
		case <-lctx.Done():
			r.end(t, "the Kubernetes Lease could not be renewed")
			return
		case <-t.expired:
			r.end(t, "the lease would end before it could be renewed")
			return
		case <-time.After(r.renewEvery()):
		}
		if r.overShare(s.idx) {
			r.end(t, "rebalancing: this replica holds more than its share of the shards")
			s.yieldUntil = time.Now().Add(2 * r.cfg.LeaseTTL)
			return
		}
		rctx, cancel := context.WithTimeout(lctx, r.renewEvery())
		nl, err := r.st.Renew(rctx, t.lease, r.cfg.LeaseTTL)
		cancel()
		switch {
		case err == nil:
			if !r.extend(t, nl) {
				r.end(t, "the lease would end before it could be renewed")
				return
			}
		case errors.Is(err, postgres.ErrLeaseHeld):
			r.end(t, "another replica took the store's lease")
			return
		default:
			if lctx.Err() == nil {
				r.log.Warn("lease renewal failed", "shard", s.name, "err", err)
			}
		}
	}
}
