package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

// schemaDB is a database holding golang-migrate's bookkeeping table, as
// `migrate up` leaves it.
type schemaDB struct {
	source string // the schema_source block's driver line
	db     *sql.DB
}

func (s schemaDB) migrate(t *testing.T, version int, dirty bool) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)",
		"DELETE FROM schema_migrations",
		fmt.Sprintf("INSERT INTO schema_migrations (version, dirty) VALUES (%d, %t)", version, dirty),
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func sqliteSchemaDB(t *testing.T, dir string) schemaDB {
	path := filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return schemaDB{source: "sqlite: {path: app.db, preset: golang-migrate}", db: db}
}

func postgresSchemaDB(t *testing.T, dir string) schemaDB {
	dsn := pgtest.DSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	writeFile(t, filepath.Join(dir, "db.url"), dsn+"\n", 0o600)
	return schemaDB{source: "postgres: {url_file: db.url, preset: golang-migrate}", db: db}
}

// schemaYAML guards a service behind the built-in switch whose versions
// declare the schema they work with: v0's range is v0Range, v1 works up to
// 41, v2 with 42.
func schemaYAML(source, v0Range string, backends ...*backend) string {
	return fmt.Sprintf(`services:
  - name: svc
    proxy: {listen: 127.0.0.1:0}
    versions:
      - {name: v0, url: %s, schema: %s}
      - {name: v1, url: %s, schema: {max: 41}}
      - {name: v2, url: %s, schema: {min: 42, max: 42}}
    schema_source:
      %s
    policy:
      interval: 20ms
      window: 2s
      verify: 500ms
      require: 1
      min_samples: 20
      thresholds:
        error_rate: {max: 0.05, critical: 0.25}
`, backends[0].srv.URL, v0Range, backends[1].srv.URL, backends[2].srv.URL, source)
}

// TestSchemaGuard, on a real PostgreSQL and on SQLite: with the database
// at 42, a bad v2 is not reverted to v1 (≤ 41) but to v0 (≥ 42), the
// decision saying why v1 was skipped; when no older version fits, ripcord
// escalates with the reason and switches nothing; and a dirty migration
// escalates instead of guessing.
func TestSchemaGuard(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(*testing.T, string) schemaDB
	}{{"postgres", postgresSchemaDB}, {"sqlite", sqliteSchemaDB}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("skips", func(t *testing.T) {
				dir := t.TempDir()
				db := tc.open(t, dir)
				db.migrate(t, 42, false)
				v0, v1, v2 := newBackend(t, "v0"), newBackend(t, "v1"), newBackend(t, "v2").failPerMille(600)
				e := fileEnv(t, dir, schemaYAML(db.source, "{min: 42}", v0, v1, v2))
				stop := e.load(200)
				defer stop()
				s := e.waitFor("the revert of v2", 20e9, func(s statusT) bool { return s.Active != "v2" || s.State == "escalated" })
				if s.Active != "v0" {
					t.Fatalf("reverted to %s (%s), want v0: v1 works only with schema ≤ 41", s.Active, s.State)
				}
				if v1.hits.Load() != 0 {
					t.Errorf("v1 served %d requests: it must never be switched to at schema 42", v1.hits.Load())
				}
				inc := incidentOf(t, e, "svc", "rollback_done")
				if tl := timeline(inc); !strings.Contains(tl, "schema guard skipped: v1 works with schema ≤ 41; the database is at 42") {
					t.Errorf("the skip is not explained on the incident:\n%s", tl)
				}
			})
			t.Run("escalates", func(t *testing.T) {
				dir := t.TempDir()
				db := tc.open(t, dir)
				db.migrate(t, 42, false)
				v0, v1, v2 := newBackend(t, "v0"), newBackend(t, "v1"), newBackend(t, "v2").failPerMille(600)
				e := fileEnv(t, dir, schemaYAML(db.source, "{max: 41}", v0, v1, v2))
				stop := e.load(200)
				defer stop()
				s := e.waitFor("escalation", 20e9, func(s statusT) bool { return s.Active != "v2" || s.State == "escalated" })
				if s.State != "escalated" || s.Active != "v2" || v0.hits.Load()+v1.hits.Load() != 0 {
					t.Fatalf("%s on %s; v0 and v1 served %d: want escalated on v2, nothing switched", s.State, s.Active, v0.hits.Load()+v1.hits.Load())
				}
				tl := timeline(incidentOf(t, e, "svc", "escalated"))
				if !strings.Contains(tl, "no older version works with the live schema: v1 works with schema ≤ 41; the database is at 42; v0 works with schema ≤ 41; the database is at 42") {
					t.Errorf("the escalation does not say why:\n%s", tl)
				}
			})
			t.Run("dirty migration escalates", func(t *testing.T) {
				dir := t.TempDir()
				db := tc.open(t, dir)
				db.migrate(t, 42, true)
				v0, v1, v2 := newBackend(t, "v0"), newBackend(t, "v1"), newBackend(t, "v2").failPerMille(600)
				e := fileEnv(t, dir, schemaYAML(db.source, "{min: 42}", v0, v1, v2))
				stop := e.load(200)
				defer stop()
				s := e.waitFor("escalation", 20e9, func(s statusT) bool { return s.Active != "v2" || s.State == "escalated" })
				if s.State != "escalated" || s.Active != "v2" {
					t.Fatalf("with a dirty migration the service is %s on %s, want escalated on v2", s.State, s.Active)
				}
				tl := timeline(incidentOf(t, e, "svc", "escalated"))
				if !strings.Contains(tl, "dirty") || !strings.Contains(tl, "does not revert on a guess") {
					t.Errorf("the escalation does not name the dirty migration:\n%s", tl)
				}
				if strings.Contains(tl, "postgres://") {
					t.Errorf("the database URL reached the timeline:\n%s", tl)
				}
			})
		})
	}
}
