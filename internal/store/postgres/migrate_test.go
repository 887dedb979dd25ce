package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

func query[T any](t *testing.T, dsn, q string) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// TestMigrationsAreIdempotent: reopening applies nothing twice and keeps
// the data and the installation id.
func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := open(t, dsn)
	id, err := s.InstallationID(ctx)
	if err != nil || len(id) != 12 {
		t.Fatalf("installation id %q, %v; want 12 hex digits", id, err)
	}
	if _, err := s.RecordDeployment(ctx, deployment()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		s = open(t, dsn)
		if again, _ := s.InstallationID(ctx); again != id {
			t.Fatalf("installation id changed on reopen: %q → %q", id, again)
		}
		deps, err := s.ListDeployments(ctx, "", 0)
		if err != nil || len(deps) != 1 {
			t.Fatalf("deployments after reopen: %v %v", deps, err)
		}
		s.Close()
	}
	if n := query[int64](t, dsn, `SELECT count(*) FROM schema_migrations`); n != int64(SchemaVersion()) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, SchemaVersion())
	}
}

// TestConcurrentStarts: several processes' worth of Opens racing on an
// empty database all succeed and apply each migration exactly once.
func TestConcurrentStarts(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	if got := query[int64](t, dsn, `SELECT count(*) FROM schema_migrations`); got != int64(SchemaVersion()) {
		t.Errorf("schema_migrations rows = %d, want %d", got, SchemaVersion())
	}
	if got := query[int64](t, dsn, `SELECT count(*) FROM installation`); got != 1 {
		t.Errorf("installation rows = %d, want 1", got)
	}
}

// TestRefusesNewerSchema: a database migrated by a newer build is not
// opened.
func TestRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	open(t, dsn).Close()
	query[int](t, dsn, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x') RETURNING version`)
	_, err := Open(context.Background(), dsn)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
}

// TestMigrationTime reports how long migrating an empty database takes
// (the figure for the issue; nothing is asserted about it).
func TestMigrationTime(t *testing.T) {
	dsn := pgtest.DSN(t)
	start := time.Now()
	s := open(t, dsn)
	took := time.Since(start)
	s.Close()
	t.Logf("open + migrate an empty database to version %d: %s", SchemaVersion(), took)
}
