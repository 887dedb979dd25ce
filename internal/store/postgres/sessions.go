package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/store"
)

// Sessions are written on the pool directly, not through inTx: signing in
// is not an action of the leader, so a fenced view (a replica that lost its
// lease) still signs users in and out — every replica serves the dashboard.

// CreateSession stores a dashboard session.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	if ss.Hash == "" {
		return errors.New("postgres: create session: empty hash")
	}
	if err := checkTimes(ss.CreatedAt, ss.ExpiresAt); err != nil {
		return s.fail("create session", err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (hash, token_name, role, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, ss.Hash, ss.TokenName, ss.Role, encTime(ss.CreatedAt), encTime(ss.ExpiresAt))
	if err != nil {
		return s.fail("create session", err)
	}
	return nil
}

// Session reads a live session: unknown and expired are both ErrNotFound.
func (s *Store) Session(ctx context.Context, hash string, now time.Time) (store.Session, error) {
	var ss store.Session
	err := s.pool.QueryRow(ctx, `SELECT hash, token_name, role, created_at, expires_at FROM sessions
		WHERE hash = $1 AND expires_at > $2`, hash, encTime(now)).
		Scan(&ss.Hash, &ss.TokenName, &ss.Role, timeCol{&ss.CreatedAt}, timeCol{&ss.ExpiresAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, s.fail("session", err)
	}
	return ss, nil
}

// DeleteSession signs a session out; an unknown hash is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
		return s.fail("delete session", err)
	}
	return nil
}

// PruneSessions deletes the sessions expired at now and says how many.
func (s *Store) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, encTime(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune sessions: %w", s.scrub(err))
	}
	return tag.RowsAffected(), nil
}
