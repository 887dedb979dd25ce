package ha

import (
	"context"
	"time"

	"github.com/ripcord/ripcord/internal/store/postgres"
)

// running is one term of one shard on this replica: the lease it acts
// under, the act it runs, and the deadline that stops it.
type running struct {
	s      *shard
	lease  postgres.Lease
	cancel context.CancelFunc
	done   chan struct{}
	// deadline cancels the term a margin before the lease's deadline
	// unless a renewal extends it; expired then receives, so the loop
	// ends the term.
	deadline *time.Timer
	expired  chan struct{}
}

// begin starts a term on lease l, running act until the term ends.
func (r *Replica) begin(ctx context.Context, s *shard, l postgres.Lease, act Acting) *running {
	t := &running{s: s, lease: l, done: make(chan struct{}), expired: make(chan struct{}, 1)}
	s.mu.Lock()
	s.term.Set(&l)
	tctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	s.leading = true
	s.mu.Unlock()
	// Stop acting the moment the deadline passes, whatever the loop is
	// waiting on (a renewal hanging on a cut network).
	t.deadline = time.AfterFunc(time.Until(l.Deadline)-r.margin(), func() {
		s.term.Set(nil)
		cancel()
		// Said now, not when the loop ends the term: that may wait on a
		// renewal or the term's last reads hanging on a cut network, long
		// after acting stopped here.
		r.log.Warn("stopped acting", "shard", s.name, "epoch", l.Epoch, "why", "the lease would end before it could be renewed")
		select {
		case t.expired <- struct{}{}:
		default: // said once already
		}
	})
	r.log.Info("acting", "shard", s.name, "epoch", l.Epoch)
	r.signal()
	go func() { defer close(t.done); act(tctx, s.idx) }()
	return t
}

// extend moves t's deadline to renewed lease l's. It reports false when
// the deadline has fired already: the term is over and must be ended.
func (r *Replica) extend(t *running, l postgres.Lease) bool {
	if !t.deadline.Reset(time.Until(l.Deadline) - r.margin()) {
		return false
	}
	t.lease = l
	t.s.term.Set(&l)
	return true
}

// end ends term t: no write goes out under it from now, and act has
// returned when end does.
func (r *Replica) end(t *running, why string) {
	s := t.s
	s.mu.Lock()
	s.term.Set(nil)
	t.cancel()
	<-t.done
	s.leading = false
	s.mu.Unlock()
	t.deadline.Stop()
	r.log.Warn("stopped acting", "shard", s.name, "epoch", t.lease.Epoch, "why", why)
	r.signal()
}
