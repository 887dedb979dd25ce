package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

// CreateSession stores a dashboard session.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	if ss.Hash == "" {
		return errors.New("sqlite: create session: empty hash")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, token_name, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		ss.Hash, ss.TokenName, ss.Role, encTime(ss.CreatedAt), encTime(ss.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// Session reads a live session. Times compare as text: the layout is
// fixed-width UTC, so text order is time order.
func (s *Store) Session(ctx context.Context, hash string, now time.Time) (store.Session, error) {
	var ss store.Session
	err := s.db.QueryRowContext(ctx, `SELECT hash, token_name, role, created_at, expires_at FROM sessions
		WHERE hash = ? AND expires_at > ?`, hash, encTime(now)).
		Scan(&ss.Hash, &ss.TokenName, &ss.Role, timeCol{&ss.CreatedAt}, timeCol{&ss.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: session: %w", err)
	}
	return ss, nil
}

// DeleteSession signs a session out.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// PruneSessions deletes the sessions expired at now.
func (s *Store) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, encTime(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune sessions: %w", err)
	}
	return n, nil
}
