package pgtest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/testenv"
)

// SkipVar is the environment variable listing external components whose
// tests are skipped, e.g. RIPCORD_SKIP=postgres,kubernetes.
const SkipVar = "RIPCORD_SKIP"

// Skipped reports whether RIPCORD_SKIP names component (comma or space
// separated, case-insensitive).
func Skipped(component string) bool {
	for _, f := range strings.FieldsFunc(os.Getenv(SkipVar), func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.EqualFold(f, component) {
			return true
		}
	}
	return false
}

var (
	mainRan   atomic.Bool
	sharedMu  sync.Mutex
	shared    *Cluster
	sharedErr error
	dbSeq     atomic.Int64
)

// Main runs the package's tests and then stops the shared cluster, if any
// test started it. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	mainRan.Store(true)
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// DSN returns the connection string of a new, empty database in the test
// binary's shared cluster (started on first use), dropped when t ends.
// Without PostgreSQL it fails t, unless RIPCORD_SKIP names postgres.
func DSN(t testing.TB) string {
	t.Helper()
	if !mainRan.Load() {
		t.Fatal("pgtest: the shared cluster needs TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
	}
	sharedMu.Lock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = start()
	}
	c, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		failOrSkip(t, err)
	}
	return c.NewDatabase(t)
}

// Start runs a private cluster for t, stopped when t ends: for tests that
// stop or break the server. Most tests want DSN.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := start()
	if err != nil {
		failOrSkip(t, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// failOrSkip ends t through testenv, the one place a test may skip, so
// RIPCORD_SKIP=postgres (or all) reads the same here as everywhere.
func failOrSkip(t testing.TB, err error) {
	t.Helper()
	testenv.Missing(t, testenv.Postgres, err.Error())
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates an empty database for t, dropped (connections and
// all) when t ends, and returns its DSN.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"))
	if len(name) > 63 {
		name = name[:63]
	}
	if err := c.admin(fmt.Sprintf("CREATE DATABASE %s", pgx.Identifier{name}.Sanitize())); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if c.stopped.Load() {
			return // the whole cluster is gone
		}
		if err := c.admin(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize())); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return c.DSN(name)
}

func (c *Cluster) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}
