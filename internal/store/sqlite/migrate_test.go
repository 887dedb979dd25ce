package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// oldSchema creates a database file as a release with only the first
// version migrations left it, and returns it open (raw, not as a Store).
func oldSchema(t *testing.T, version int) (string, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	path := tempPath(t)
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= version; v++ {
		if err := applyMigration(ctx, db, v); err != nil {
			t.Fatal(err)
		}
	}
	return path, db
}

// seedV1 writes, with the version 1 schema's own statements, a service with
// versions, a pending decision, a deployment and an incident with events:
// what a daemon of that release left in its file.
func seedV1(t *testing.T, db *sql.DB) {
	t.Helper()
	when := encTime(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC))
	zero := encTime(time.Time{})
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO services VALUES ('api', 'v2', 'verifying', 0, ?, ?, 'INC-0001', 1, ?)`, []any{when, zero, when}},
		{`INSERT INTO versions VALUES ('api', 0, 'v1', 'http://10.0.0.1', 0, '', ?)`, []any{when}},
		{`INSERT INTO versions VALUES ('api', 1, 'v2', 'http://10.0.0.2', 1, 'error_rate 50%', ?)`, []any{when}},
		{`INSERT INTO decisions (service, action, from_version, to_version, reason, incident_id, snapshot,
			status, result, created_at, done_at) VALUES ('api', 'rollback', 'v2', 'v1', 'bad', 'INC-0001',
			'{"error_rate":0.5,"p99":"+Inf"}', 'pending', '', ?, ?)`, []any{when, zero}},
		{`INSERT INTO deployments (service, version, url, actor, at) VALUES ('api', 'v2', 'http://10.0.0.2', 'alice', ?)`, []any{when}},
		{`INSERT INTO incidents (seq, id, service, kind, severity, status, title, reason, from_version, to_version,
			impact_started_at, detected_at, rollback_started_at, mitigated_at, resolved_at, created_at, updated_at)
			VALUES (1, 'INC-0001', 'api', 'rollback', 'major', 'identified', 't', 'r',
			'v2', 'v1', ?, ?, ?, ?, ?, ?, ?)`, []any{when, when, when, zero, zero, when, when}},
		{`INSERT INTO incident_events (incident_id, at, type, actor, message, data)
			VALUES ('INC-0001', ?, 'opened', 'ripcord', 'opened', NULL)`, []any{when}},
		{`INSERT INTO incident_events (incident_id, at, type, actor, message, data)
			VALUES ('INC-0001', ?, 'note', 'ann', 'v1 looks fine', '{"k":"v"}')`, []any{when}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
}

// TestUpgradeFromEveryOlderSchema opens a file left by each older release
// and finds its data intact and every newer feature working: cursors and
// metrics (v2), channel state (v3), the installation id (v4), dashboard
// sessions (v5), a service's canary (v6).
func TestUpgradeFromEveryOlderSchema(t *testing.T) {
	for v := 1; v < len(migrations); v++ {
		t.Run("from v"+strconv.Itoa(v), func(t *testing.T) {
			ctx := context.Background()
			// Seeded with v1's own statements, then upgraded to v as
			// that release would have.
			path, db := oldSchema(t, 1)
			seedV1(t, db)
			for w := 2; w <= v; w++ {
				if err := applyMigration(ctx, db, w); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			s := openFile(t, path)
			defer s.Close()
			if count, max := schemaVersions(t, s); count != len(migrations) || max != len(migrations) {
				t.Fatalf("after upgrade: %d migrations, max %d; want %d", count, max, len(migrations))
			}
			st, err := s.LoadService(ctx, "api")
			if err != nil || st.State != "verifying" || len(st.Versions) != 2 || !st.Versions[1].KnownBad || !st.CooldownUntil.IsZero() {
				t.Errorf("service after upgrade = %+v, %v", st, err)
			}
			if st.Canary != (store.Canary{}) {
				t.Errorf("a service from before canaries has canary %+v", st.Canary)
			}
			st.Canary = store.Canary{Stable: "v1", Step: 1, Since: time.Now().UTC()}
			if err := s.SaveService(ctx, st); err != nil {
				t.Errorf("saving a canary on the upgraded file: %v", err)
			} else if got, _ := s.LoadService(ctx, "api"); got.Canary.Stable != "v1" || got.Canary.Step != 1 {
				t.Errorf("canary after a save on the upgraded file: %+v", got.Canary)
			}
			pend, err := s.PendingDecisions(ctx)
			if err != nil || len(pend) != 1 || pend[0].Snapshot["error_rate"] != 0.5 {
				t.Fatalf("pending after upgrade = %+v, %v", pend, err)
			}
			if p99 := pend[0].Snapshot["p99"]; p99 <= 1e308 {
				t.Errorf("a stored +Inf snapshot value read back as %v", p99)
			}
			if err := s.FinishDecision(ctx, pend[0].ID, store.DecisionDone, "done after upgrade", time.Now()); err != nil {
				t.Errorf("finishing a decision from before the upgrade: %v", err)
			}
			inc, err := s.GetIncident(ctx, "INC-0001")
			if err != nil || inc.Status != incident.Identified || len(inc.Events) != 2 || inc.Events[1].Data["k"] != "v" {
				t.Fatalf("incident after upgrade = %+v, %v", inc, err)
			}
			if inc.Installation != "" {
				t.Errorf("an incident from before installation ids got installation %q", inc.Installation)
			}
			// Newer tables work on the upgraded file.
			if err := s.SetCursor(ctx, "notify:slack", inc.Events[1].Seq); err != nil {
				t.Errorf("cursor on the upgraded file: %v", err)
			}
			if err := s.CreateSession(ctx, store.Session{Hash: "h", TokenName: "ann", Role: "viewer", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Errorf("session on the upgraded file: %v", err)
			}
			if err := s.SetChannelState(ctx, "slack", "INC-0001", "ts"); err != nil {
				t.Errorf("channel state on the upgraded file: %v", err)
			}
			if err := s.RecordMetrics(ctx, []store.MetricPoint{{Service: "api", Version: "v1", At: time.Now(), Requests: 1}}); err != nil {
				t.Errorf("metrics on the upgraded file: %v", err)
			}
			id, err := s.CreateIncident(ctx, incident.Incident{Service: "api", CreatedAt: time.Now()})
			if err != nil || id != "INC-0002" {
				t.Errorf("next incident after upgrade = %q, %v; want INC-0002", id, err)
			}
			inst, _ := s.InstallationID(ctx)
			if got, _ := s.GetIncident(ctx, id); got.Installation != inst || inst == "" {
				t.Errorf("new incident installation %q, want %q", got.Installation, inst)
			}
			// The timeline stays append-only across the upgrade.
			if _, err := s.db.Exec(`DELETE FROM incident_events`); err == nil {
				t.Error("DELETE on incident_events succeeded after the upgrade")
			}
		})
	}
}

// TestFailedMigrationLeavesThePreviousVersion: a migration that fails
// rolls back with its schema_migrations row, so the file stays a valid
// older schema, Open says which step failed, and once the cause is gone
// the next Open completes the upgrade.
func TestFailedMigrationLeavesThePreviousVersion(t *testing.T) {
	ctx := context.Background()
	last := len(migrations)
	path, db := oldSchema(t, 1)
	seedV1(t, db)
	for w := 2; w <= 3; w++ {
		if err := applyMigration(ctx, db, w); err != nil {
			t.Fatal(err)
		}
	}
	// Something else created a table migration 4 creates.
	if _, err := db.Exec(`CREATE TABLE installation (x TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err := Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "sqlite: migrate to 4") {
		t.Fatalf("Open with a conflicting table: %v, want a migrate to 4 error", err)
	}
	db, err = sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	var max int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&max); err != nil || max != 3 {
		t.Fatalf("schema version after the failed migration = %d, %v; want 3", max, err)
	}
	// The ALTER TABLE after the failing statement did not land either.
	var cols int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info('incidents') WHERE name = 'installation'`).Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("incidents.installation present (%d, %v) after a rolled-back migration", cols, err)
	}
	if _, err := db.Exec(`DROP TABLE installation`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openFile(t, path)
	defer s.Close()
	if _, max := schemaVersions(t, s); max != last {
		t.Errorf("after removing the cause: schema %d, want %d", max, last)
	}
	if inc, err := s.GetIncident(ctx, "INC-0001"); err != nil || len(inc.Events) != 2 {
		t.Errorf("data after the retried upgrade: %+v, %v", inc, err)
	}
}

// TestOpenRefusesNewerSchemaWithoutTouchingIt: a file from a newer build is
// not migrated, written or half understood.
func TestOpenRefusesNewerSchemaWithoutTouchingIt(t *testing.T) {
	path := tempPath(t)
	s := openFile(t, path)
	if _, err := s.db.Exec(`INSERT INTO schema_migrations VALUES (?, ?)`, len(migrations)+7, encTime(time.Now())); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		_, err := Open(context.Background(), path)
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Open: %v, want ErrSchemaTooNew", err)
		}
		want := "database schema version " + strconv.Itoa(len(migrations)+7) + ", this build knows up to " + strconv.Itoa(len(migrations))
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestOpenErrors: Open names the path it could not open and cleans up.
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, ""); err == nil || !strings.Contains(err.Error(), `":memory:"`) {
		t.Errorf("Open(\"\") = %v, want advice to use :memory:", err)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "ripcord.db")
	if _, err := Open(ctx, missing); err == nil || !strings.HasPrefix(err.Error(), "sqlite: open "+missing) {
		t.Errorf("Open in a missing directory = %v, want a sqlite: open error naming the path", err)
	}
	notDB := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, notDB); err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") {
		t.Errorf("Open of a non-database file = %v, want a sqlite: error", err)
	}
}

// TestDSN: settings survive a path that already carries a query.
func TestDSN(t *testing.T) {
	for _, tc := range []struct{ path, prefix string }{
		{"/var/lib/ripcord.db", "/var/lib/ripcord.db?"},
		{"file:x.db?mode=rwc", "file:x.db?mode=rwc&"},
		{":memory:", ":memory:?"},
	} {
		got := dsn(tc.path)
		if !strings.HasPrefix(got, tc.prefix) || strings.Count(got, "?") != 1 {
			t.Errorf("dsn(%q) = %q, want prefix %q and one '?'", tc.path, got, tc.prefix)
		}
		for _, want := range []string{"busy_timeout%285000%29", "foreign_keys%281%29", "journal_mode%28WAL%29", "synchronous%28FULL%29", "_txlock=immediate"} {
			if !strings.Contains(got, want) {
				t.Errorf("dsn(%q) = %q lacks %s", tc.path, got, want)
			}
		}
	}
}
