package sqlite

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
)

// TestInstallationIDs: every new database gets its own id, kept across
// reopening and stamped on each incident it creates.
func TestInstallationIDs(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	a := openFile(t, path)
	idA, err := a.InstallationID(ctx)
	if err != nil || len(idA) != 12 {
		t.Fatalf("installation id %q, %v; want 12 hex digits", idA, err)
	}
	incID, err := a.CreateIncident(ctx, incident.Incident{Service: "svc", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	a = openFile(t, path)
	defer a.Close()
	if again, _ := a.InstallationID(ctx); again != idA {
		t.Fatalf("reopened: id %q, want %q", again, idA)
	}
	inc, err := a.GetIncident(ctx, incID)
	if err != nil || inc.Installation != idA {
		t.Fatalf("incident installation %q, %v; want %q", inc.Installation, err, idA)
	}
	b := openFile(t, tempPath(t))
	defer b.Close()
	if idB, _ := b.InstallationID(ctx); idB == idA {
		t.Fatalf("two fresh databases share installation id %s", idA)
	}
}

// TestUpgradeKeepsLegacyKeys: incidents that exist when a database is
// upgraded to installation ids get none, so their keys stay as announced;
// incidents created afterwards get the new id.
func TestUpgradeKeepsLegacyKeys(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 3; v++ { // the schema of the release before installation ids
		if err := applyMigration(ctx, db, v); err != nil {
			t.Fatal(err)
		}
	}
	old := &Store{db: db}
	legacy, err := old.createV3Incident(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openFile(t, path)
	defer s.Close()
	inc, err := s.GetIncident(ctx, legacy)
	if err != nil || inc.Installation != "" {
		t.Fatalf("incident from before the upgrade: installation %q, %v; want none", inc.Installation, err)
	}
	id, _ := s.InstallationID(ctx)
	newID, err := s.CreateIncident(ctx, incident.Incident{Service: "svc", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if inc, _ := s.GetIncident(ctx, newID); inc.Installation != id || id == "" {
		t.Fatalf("incident after the upgrade: installation %q, want %q", inc.Installation, id)
	}
}

// createV3Incident inserts an incident as the version 3 schema stored it.
func (s *Store) createV3Incident(ctx context.Context) (string, error) {
	now := encTime(time.Now())
	_, err := s.db.ExecContext(ctx, `INSERT INTO incidents (seq, id, service, kind, severity, status, title, reason,
		from_version, to_version, impact_started_at, detected_at, rollback_started_at, mitigated_at, resolved_at,
		created_at, updated_at) VALUES (1, 'INC-0001', 'svc', 'rollback', 'major', 'investigating', '', '', '', '', ?, ?, ?, ?, ?, ?, ?)`,
		now, now, now, now, encTime(time.Time{}), now, now)
	return "INC-0001", err
}
