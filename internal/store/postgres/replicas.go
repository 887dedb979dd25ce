package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ServiceChannel is the NOTIFY channel every SaveService (and Decide)
// announces the service's name on, in the writing transaction: replicas
// following the active version hear of a change exactly when it commits.
const ServiceChannel = "ripcord_service"

// Replica is one `ripcord serve` replica sharing the database.
type Replica struct {
	Name      string
	Advertise string // its API's URL for the other replicas
	SeenAt    time.Time
	StartedAt time.Time
}

// Heartbeat records that replica name is alive at advertise. It is not
// fenced: followers write it too (it decides nothing).
func (s *Store) Heartbeat(ctx context.Context, name, advertise string, started time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO replicas (name, advertise, seen_at, started_at)
		VALUES ($1, $2, clock_timestamp(), $3)
		ON CONFLICT (name) DO UPDATE SET advertise = excluded.advertise, seen_at = excluded.seen_at,
			started_at = excluded.started_at`, name, advertise, started)
	if err != nil {
		return s.fail("replica heartbeat", err)
	}
	return nil
}

// Replicas lists the replicas seen within fresh (on the database's clock),
// by name.
func (s *Store) Replicas(ctx context.Context, fresh time.Duration) ([]Replica, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, advertise, seen_at, started_at FROM replicas
		WHERE seen_at > clock_timestamp() - $1 * interval '1 microsecond' ORDER BY name`, fresh.Microseconds())
	if err != nil {
		return nil, s.fail("list replicas", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Replica, error) {
		var x Replica
		err := r.Scan(&x.Name, &x.Advertise, &x.SeenAt, &x.StartedAt)
		return x, err
	})
	if err != nil {
		return nil, s.fail("list replicas", err)
	}
	return out, nil
}

// ClusterSecret is the secret the replicas of this database authenticate
// each other's calls with: made by the first replica that asks, the same
// for every replica after, known to whoever can read the database and to
// nobody else. Never log it.
func (s *Store) ClusterSecret(ctx context.Context) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("postgres: cluster secret: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO cluster_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`,
		hex.EncodeToString(b)); err != nil {
		return "", s.fail("cluster secret", err)
	}
	var sec string
	if err := s.pool.QueryRow(ctx, `SELECT secret FROM cluster_secret WHERE id = 1`).Scan(&sec); err != nil {
		return "", s.fail("cluster secret", err)
	}
	return sec, nil
}

// Listen calls changed with the name of every service whose state a
// transaction committed, until ctx ends, on a connection of its own. After
// it (re)connects it calls changed with an empty string: notifications
// sent while it was away are lost, so the caller reloads everything.
// Connection failures are retried every retry; it returns only ctx's
// error.
func (s *Store) Listen(ctx context.Context, retry time.Duration, changed func(service string), failed func(error)) error {
	for {
		err := s.listenOnce(ctx, changed)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if failed != nil && err != nil {
			failed(s.scrub(err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retry):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, changed func(string)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	// The connection carries a LISTEN: it never goes back to the pool.
	c := conn.Hijack()
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	if _, err := c.Exec(ctx, "LISTEN "+ServiceChannel); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	changed("")
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return fmt.Errorf("postgres: listen: %w", err)
		}
		changed(n.Payload)
	}
}
