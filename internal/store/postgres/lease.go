package postgres

import (
	"context"
	"errors"
	"fmt"
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
	op := fmt.Sprintf("acquire lease %q", name)
	if ttl <= 0 || holder == "" || name == "" {
		return Lease{}, s.fail(op, errors.New("needs a name, a holder and a positive ttl"))
	}
	start := time.Now()
	var epoch int64
	err := s.pool.QueryRow(ctx, `INSERT INTO leases (name, holder, epoch, expires_at)
		VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET
			epoch = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > clock_timestamp()
				THEN leases.epoch ELSE leases.epoch + 1 END,
			holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
		RETURNING epoch`, name, holder, ttl.Microseconds()).Scan(&epoch)
	if isNoRows(err) {
		return Lease{}, s.fail(op, ErrLeaseHeld)
	}
	if err != nil {
		return Lease{}, s.fail(op, err)
	}
	return Lease{Name: name, Holder: holder, Epoch: epoch, Deadline: start.Add(ttl)}, nil
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
	if s.fence == nil {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3
		AND expires_at > clock_timestamp() FOR SHARE`, s.fence.Name, s.fence.Holder, s.fence.Epoch).Scan(&one)
	if isNoRows(err) {
		return fmt.Errorf("lease %q epoch %d of %s: %w", s.fence.Name, s.fence.Epoch, s.fence.Holder, ErrFenced)
	}
	return err
}
