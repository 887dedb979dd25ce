package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/ripcord/ripcord/internal/store"
)

var _ store.Store = (*Store)(nil)

// busyTimeoutMillis is how long a statement waits for another process (say a
// CLI opened on the same file) to release its lock before failing.
const busyTimeoutMillis = 5000

// Store is the SQLite implementation of store.Store.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the database at path, or a private
// in-memory database for ":memory:", and brings its schema up to date.
// It fails with an error wrapping ErrSchemaTooNew if the file was written by
// a newer ripcord.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New(`sqlite: open: empty path (use ":memory:" for a throwaway store)`)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One connection: SQLite allows one writer anyway, this makes every
	// transaction in this process strictly serial (no SQLITE_BUSY between our
	// own goroutines), and it keeps a ":memory:" database alive, since each
	// connection would otherwise get its own empty one.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// dsn adds the connection settings to path. They live in the DSN, not in
// statements run after Open, so the driver re-applies them should
// database/sql ever replace the connection.
//
//   - journal_mode=WAL: readers in other processes do not block the writer.
//   - synchronous=FULL: a committed transaction survives power loss, which
//     the pending→done decision protocol depends on. NORMAL in WAL mode may
//     lose the last commits on power failure; the write rate here is a few
//     rows per incident, so the extra fsync costs nothing noticeable.
//   - foreign_keys: SQLite leaves them off by default.
//   - _txlock=immediate: write transactions take the write lock at BEGIN, so
//     a read-then-write transaction (incident ID allocation) can never fail
//     with a lock upgrade conflict against another process.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + q.Encode()
}

// Close releases the database. Everything committed is already durable.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction and prefixes any error with
// "sqlite: op: ". fn must use only tx: with a single connection, touching
// s.db inside fn would wait forever for the connection fn holds.
func (s *Store) inTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return s.tx(ctx, op, nil, fn)
}

// readTx is inTx for reads that need a consistent view across statements.
// ReadOnly makes the driver issue a deferred BEGIN, so reads never take the
// write lock.
func (s *Store) readTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return s.tx(ctx, op, &sql.TxOptions{ReadOnly: true}, fn)
}

func (s *Store) tx(ctx context.Context, op string, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", op, err)
	}
	return nil
}

// defaultLimit applies the store-wide list limit rule: zero or negative
// means 100, matching store.IncidentFilter.
func defaultLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}
