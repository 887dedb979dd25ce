package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers database/sql driver "pgx"
	_ "modernc.org/sqlite"             // registers database/sql driver "sqlite"
)

// Errors Read returns (wrapped; test with errors.Is).
var (
	// ErrDirty means the migration tool marks the schema as half-migrated
	// (golang-migrate's dirty flag, a failed Flyway migration): the live
	// schema is unknown, so the controller escalates instead of guessing.
	ErrDirty = errors.New("schema: migration is dirty")
	// ErrNoVersion means no migration has been applied (the bookkeeping
	// table is empty or the query returned no row).
	ErrNoVersion = errors.New("schema: no version recorded")
)

// readTimeout bounds one Read when ctx has no earlier deadline.
const readTimeout = 10 * time.Second

// Reader reads one database's schema version. It is safe for concurrent
// use.
type Reader struct {
	cfg    Config
	db     *sql.DB
	secret []string // the URL and its password, scrubbed from errors
}

// New checks cfg, reads url_file, and prepares a connection pool (it does
// not connect: Read does).
func New(cfg Config) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	raw := cfg.URL
	if cfg.URLFile != "" {
		var err error
		if raw, err = readURLFile(cfg.URLFile); err != nil {
			return nil, err
		}
	}
	r := &Reader{cfg: cfg, secret: secretsOf(raw)}
	driver, dsn := "pgx", raw
	if cfg.Driver == DriverSQLite {
		path := strings.TrimPrefix(raw, "file:")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("schema source: url: sqlite database %s: %w", path, err)
		}
		// Read-only: ripcord must never create or change the database.
		driver, dsn = "sqlite", sqliteURI(path)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, r.scrub(fmt.Errorf("schema source: url: %w", err))
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	r.db = db
	return r, nil
}

// sqliteURI opens path read-only. In an SQLite URI '?' and '#' end the
// path, so they (and '%') are percent-escaped.
func sqliteURI(path string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?mode=ro&_pragma=busy_timeout(5000)"
}

func readURLFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("schema source: url_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 16<<10))
	if err != nil {
		return "", fmt.Errorf("schema source: url_file %s: %w", path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("schema source: url_file %s is empty: put the database URL in it", path)
	}
	return s, nil
}

// secretsOf is what of a database URL must never be printed: its
// password, and the URL itself.
func secretsOf(raw string) []string {
	s := []string{raw}
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			s = append(s, pw, url.QueryEscape(pw))
		}
	}
	return s
}

func (r *Reader) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, s := range r.secret {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

// scrubbed keeps errors.Is working on an error whose text was cleaned.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// Close releases the pool.
func (r *Reader) Close() error { return r.db.Close() }

// Read returns the live schema version.
func (r *Reader) Read(ctx context.Context) (Version, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	var v Version
	var err error
	switch r.cfg.Preset {
	case PresetGolangMigrate:
		v, err = readGolangMigrate(ctx, r.db)
	case PresetGoose:
		v, err = readGoose(ctx, r.db)
	case PresetFlyway:
		v, err = readFlyway(ctx, r.db)
	default:
		v, err = readQuery(ctx, r.db, r.cfg.Query)
	}
	what := r.cfg.Preset
	if what == "" {
		what = "query"
	}
	if err != nil {
		return Version{}, r.scrub(fmt.Errorf("schema: %s on %s: %w", what, r.cfg.Driver, err))
	}
	return v, nil
}
