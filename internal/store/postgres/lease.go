package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	// ErrLeaseHeld is returned by Acquire while another holder's lease
	// has not expired.
	ErrLeaseHeld = errors.New("postgres: lease held by another holder")
	// ErrFenced is returned by every write of a fenced store once its
	// lease has expired or passed to another holder: a deposed leader's
	// late write is refused, not applied.
	ErrFenced = errors.New("postgres: fenced: the lease this store writes under is no longer held")
)

// Lease is one holder's claim on a named lease.
type Lease struct {
	Name   string
	Holder string
	// Epoch is the fencing token: it grows whenever the holder changes.
	Epoch int64
	// Deadline is when the holder must stop acting, on this process's
	// monotonic clock: the request's start plus the TTL, so it never falls
	// after the database's own expiry whatever the clocks say.
	Deadline time.Time
}

// Acquire takes lease name for holder for ttl, or renews it if holder has
// it. A renewal keeps the epoch; a takeover (of an expired lease, or a
// holder's own lease after it lapsed) increments it. While another holder's
// lease runs, it returns ErrLeaseHeld. Expiry is judged on the database
// server's clock.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	return s.take(ctx, "acquire", name, holder, ttl, `INSERT INTO leases (name, holder, epoch, expires_at)
		VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET
			epoch = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > clock_timestamp()
				THEN leases.epoch ELSE leases.epoch + 1 END,
			holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
		RETURNING epoch`)
}

// Assume makes holder the lease's holder with the next epoch, whoever
// held it and whether or not it has expired: for a holder another
// authority has just elected (a Kubernetes Lease), which need not wait out
// the row's expiry. The update waits for any write still fenced by the
// old epoch to commit (it holds the row FOR SHARE), and every write after
// it under the old epoch is refused.
func (s *Store) Assume(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	return s.take(ctx, "assume", name, holder, ttl, `INSERT INTO leases (name, holder, epoch, expires_at)
		VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET epoch = leases.epoch + 1,
			holder = excluded.holder, expires_at = excluded.expires_at
		RETURNING epoch`)
}

// take runs an upsert of the lease row returning its epoch (no row: held
// by another, ErrLeaseHeld); the deadline counts from before the request.
func (s *Store) take(ctx context.Context, verb, name, holder string, ttl time.Duration, sql string) (Lease, error) {
	op := fmt.Sprintf("%s lease %q", verb, name)
	if ttl <= 0 || holder == "" || name == "" {
		return Lease{}, s.fail(op, errors.New("needs a name, a holder and a positive ttl"))
	}
	start := time.Now()
	var epoch int64
	err := s.pool.QueryRow(ctx, sql, name, holder, ttl.Microseconds()).Scan(&epoch)
	if isNoRows(err) {
		return Lease{}, s.fail(op, ErrLeaseHeld)
	}
	if err != nil {
		return Lease{}, s.fail(op, err)
	}
	return Lease{Name: name, Holder: holder, Epoch: epoch, Deadline: start.Add(ttl)}, nil
}

// Renew extends l by ttl if it is still current: the same holder and
// epoch, not expired. Otherwise it returns ErrLeaseHeld (another holder
// has it, or it lapsed), and l's term is over.
func (s *Store) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	op := fmt.Sprintf("renew lease %q", l.Name)
	start := time.Now()
	tag, err := s.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp() + $4 * interval '1 microsecond'
		WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()`,
		l.Name, l.Holder, l.Epoch, ttl.Microseconds())
	if err != nil {
		return Lease{}, s.fail(op, err)
	}
	if tag.RowsAffected() == 0 {
		return Lease{}, s.fail(op, ErrLeaseHeld)
	}
	l.Deadline = start.Add(ttl)
	return l, nil
}

// Fenced returns a view of s whose every write first checks, in its own
// transaction, that l is still current (same holder and epoch, not
// expired) and fails with ErrFenced otherwise. The check takes a share
// lock on the lease row, so a takeover waits for a write already past
// the check to commit, and any write after the takeover is refused. Reads
// are not fenced. Close the original store, not the view.
func (s *Store) Fenced(l Lease) *Store {
	c := *s
	c.fence = &l
	return &c
}

func (s *Store) checkFence(ctx context.Context, tx pgx.Tx) error {
	fence := s.fence
	if s.term != nil {
		l, ok := s.term.Current()
		if !ok {
			return fmt.Errorf("%s holds no lease: %w", s.term.name, ErrFenced)
		}
		fence = &l
	}
	if fence == nil {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3
		AND expires_at > clock_timestamp() FOR SHARE`, fence.Name, fence.Holder, fence.Epoch).Scan(&one)
	if isNoRows(err) {
		return fmt.Errorf("lease %q epoch %d of %s: %w", fence.Name, fence.Epoch, fence.Holder, ErrFenced)
	}
	return err
}

// Term is the lease a replica writes under while it holds it: set when it
// acquires the lease, cleared when it stops acting. A store viewed
// UnderTerm refuses every write (ErrFenced) while the term holds no
// lease, and checks the one it holds as Fenced does.
type Term struct {
	name string
	cur  atomic.Pointer[Lease]
}

// NewTerm returns an empty term; name (the lease's) is for errors.
func NewTerm(name string) *Term { return &Term{name: name} }

// Set makes l the term's lease; nil ends the term.
func (t *Term) Set(l *Lease) { t.cur.Store(l) }

// Current is the lease held, if any.
func (t *Term) Current() (Lease, bool) {
	l := t.cur.Load()
	if l == nil {
		return Lease{}, false
	}
	return *l, true
}

// UnderTerm returns a view of s whose writes are fenced by whatever lease
// t holds at the moment of each write. Reads are not fenced.
func (s *Store) UnderTerm(t *Term) *Store {
	c := *s
	c.term, c.fence = t, nil
	return &c
}

// LeaseState is a lease row as `ripcord status` shows it.
type LeaseState struct {
	Name      string
	Holder    string
	Epoch     int64
	ExpiresAt time.Time
	// Live: the lease has not expired (on the database's clock).
	Live bool
}

// Leases lists every lease, by name.
func (s *Store) Leases(ctx context.Context) ([]LeaseState, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, holder, epoch, expires_at, expires_at > clock_timestamp() FROM leases ORDER BY name`)
	if err != nil {
		return nil, s.fail("list leases", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LeaseState, error) {
		var l LeaseState
		err := r.Scan(&l.Name, &l.Holder, &l.Epoch, &l.ExpiresAt, &l.Live)
		return l, err
	})
	if err != nil {
		return nil, s.fail("list leases", err)
	}
	return out, nil
}

// Release gives up holder's lease at once (a clean shutdown), so a
// follower need not wait for it to expire. The epoch is kept: whoever
// takes it next increments it.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	_, err := s.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp() WHERE name = $1 AND holder = $2`, name, holder)
	if err != nil {
		return s.fail(fmt.Sprintf("release lease %q", name), err)
	}
	return nil
}
