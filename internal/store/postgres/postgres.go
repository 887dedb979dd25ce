package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ripcord/ripcord/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	secret []string // the URL and its password: never in an error
	fence  *Lease   // set by Fenced: every write checks it first
	term   *Term    // set by UnderTerm: every write checks its lease first
}

// Open connects to the database at rawURL (postgres://USER:PASSWORD@HOST/DB)
// and brings its schema up to date. Its errors never contain the URL or the
// password. It fails with an error wrapping ErrSchemaTooNew if the database
// was migrated by a newer ripcord.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	s := &Store{secret: secretsOf(rawURL)}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, s.scrub(fmt.Errorf("postgres: open: invalid url: %w", err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.scrub(fmt.Errorf("postgres: open: %w", err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, s.scrub(fmt.Errorf("postgres: open %s: %w", Describe(rawURL), err))
	}
	s.pool = pool
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, s.scrub(err)
	}
	return s, nil
}

// Describe names the database of a URL for messages, without the
// password: host, port and database name.
func Describe(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "database"
	}
	return fmt.Sprintf("database %s on %s", strings.TrimPrefix(u.Path, "/"), u.Host)
}

// Close releases the pool. Everything committed is already durable.
// (A Fenced view shares the pool: closing it closes the store.)
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// secretsOf is what of a database URL must never be printed: the URL
// itself and its password, raw and escaped.
func secretsOf(raw string) []string {
	out := []string{raw}
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	for _, kv := range strings.Fields(raw) { // keyword form: password=…
		if v, ok := strings.CutPrefix(kv, "password="); ok && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// scrub removes the URL and password from err's text, keeping errors.Is.
func (s *Store) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, sec := range s.secret {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "<redacted>")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// inTx runs fn in a read-committed transaction and prefixes any error with
// "postgres: op: ". Every write goes through it, so a fenced store checks
// its lease in the same transaction as the write.
func (s *Store) inTx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return s.tx(ctx, op, pgx.TxOptions{}, fn)
}

// readTx is for reads that need one snapshot across statements.
func (s *Store) readTx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return s.tx(ctx, op, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (s *Store) tx(ctx context.Context, op string, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return s.fail(op, fmt.Errorf("begin: %w", err))
	}
	if opts.AccessMode != pgx.ReadOnly {
		if err := s.checkFence(ctx, tx); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return s.fail(op, err)
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return s.fail(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.fail(op, fmt.Errorf("commit: %w", err))
	}
	return nil
}

// fail is the package's error shape: "postgres: op: cause", scrubbed.
func (s *Store) fail(op string, err error) error {
	return s.scrub(fmt.Errorf("postgres: %s: %w", op, err))
}

// eventLogLock is the transaction advisory lock every event writer takes
// first (see doc.go). The number is arbitrary but fixed: "ripcord" in
// ASCII, then 1.
const eventLogLock int64 = 0x726970636f726401

func lockEventLog(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, eventLogLock); err != nil {
		return fmt.Errorf("lock event log: %w", err)
	}
	return nil
}

func defaultLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
