package sqlite

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/storetest"
)

func openFile(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func tempPath(t *testing.T) string { return filepath.Join(t.TempDir(), "ripcord.db") }

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFile(t, tempPath(t)) })
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFile(t, ":memory:") })
}

// TestSurvivesReopen is the restart guarantee: what was committed before
// Close (standing in for a crash) is all there after reopening, including a
// decision left pending and the incident sequence.
func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	when := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)

	s := openFile(t, path)
	svc := store.ServiceState{Name: "checkout", Active: "v2", State: "reverting",
		WatchSince: when, Versions: []store.Version{{Name: "v1"}, {Name: "v2", KnownBad: true}}}
	if err := s.SaveService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	decID, err := s.RecordDecision(ctx, store.Decision{Service: "checkout", Action: "rollback",
		Snapshot: map[string]float64{"error_rate": 0.2}, CreatedAt: when})
	if err != nil {
		t.Fatal(err)
	}
	incID, err := s.CreateIncident(ctx, incident.Incident{Service: "checkout", CreatedAt: when})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvent(ctx, incID, incident.Event{At: when, Type: incident.EvNote}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openFile(t, path)
	defer s.Close()
	got, err := s.LoadService(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "reverting" || !got.WatchSince.Equal(when) || len(got.Versions) != 2 || !got.Versions[1].KnownBad {
		t.Errorf("service after reopen = %+v", got)
	}
	pend, err := s.PendingDecisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 1 || pend[0].ID != decID || pend[0].Snapshot["error_rate"] != 0.2 {
		t.Errorf("pending after reopen = %+v, want decision %d", pend, decID)
	}
	inc, err := s.GetIncident(ctx, incID)
	if err != nil || len(inc.Events) != 1 {
		t.Errorf("incident after reopen = %+v, %v", inc, err)
	}
	next, err := s.CreateIncident(ctx, incident.Incident{Service: "checkout"})
	if err != nil || next != "INC-0002" {
		t.Errorf("next incident after reopen = %q, %v; want INC-0002", next, err)
	}
}

func schemaVersions(t *testing.T, s *Store) (count, max int) {
	t.Helper()
	err := s.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&count, &max)
	if err != nil {
		t.Fatal(err)
	}
	return count, max
}

func TestMigrationsIdempotent(t *testing.T) {
	path := tempPath(t)
	for i := range 3 {
		s := openFile(t, path)
		if i == 0 {
			if err := s.SaveService(context.Background(), store.ServiceState{Name: "api"}); err != nil {
				t.Fatal(err)
			}
		}
		count, max := schemaVersions(t, s)
		if count != len(migrations) || max != len(migrations) {
			t.Errorf("open %d: %d migrations recorded, max %d; want %d", i, count, max, len(migrations))
		}
		if _, err := s.LoadService(context.Background(), "api"); err != nil {
			t.Errorf("open %d: %v", i, err)
		}
		s.Close()
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := tempPath(t)
	s := openFile(t, path)
	_, err := s.db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		len(migrations)+1, encTime(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(context.Background(), path)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "upgrade ripcord") {
		t.Fatalf("Open on newer schema: %v, want ErrSchemaTooNew with advice", err)
	}
}

// TestPragmas checks the settings the durability argument rests on actually
// took effect through the DSN.
func TestPragmas(t *testing.T) {
	s := openFile(t, tempPath(t))
	defer s.Close()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000",
	} {
		var got string
		if err := s.db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestEventsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	id, err := s.CreateIncident(ctx, incident.Incident{Service: "api",
		Events: []incident.Event{{Type: incident.EvOpened}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE incident_events SET message = 'rewritten'`); err == nil {
		t.Error("UPDATE on incident_events succeeded")
	}
	if _, err := s.db.Exec(`DELETE FROM incident_events`); err == nil {
		t.Error("DELETE on incident_events succeeded")
	}
	if inc, err := s.GetIncident(ctx, id); err != nil || len(inc.Events) != 1 || inc.Events[0].Message != "" {
		t.Errorf("timeline changed: %+v, %v", inc.Events, err)
	}
}

func TestErrorsArePrefixed(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	_, err1 := s.LoadService(ctx, "nope")
	err2 := s.FinishDecision(ctx, 1, store.DecisionDone, "", time.Now())
	_, err3 := s.GetIncident(ctx, "INC-0001")
	err4 := s.AppendEvent(ctx, "INC-0001", incident.Event{})
	for _, err := range []error{err1, err2, err3, err4} {
		if err == nil || !strings.HasPrefix(err.Error(), "sqlite: ") || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("err = %v, want \"sqlite: \" prefix wrapping ErrNotFound", err)
		}
	}
}

// TestEventDataNonFinite: a NaN in event data is stored as the string "NaN"
// rather than failing the append.
func TestEventDataNonFinite(t *testing.T) {
	ctx := context.Background()
	s := openFile(t, ":memory:")
	defer s.Close()
	id, err := s.CreateIncident(ctx, incident.Incident{Service: "api"})
	if err != nil {
		t.Fatal(err)
	}
	ev := incident.Event{Type: incident.EvDecision, Data: map[string]any{
		"error_rate": math.NaN(), "nested": map[string]any{"p99": math.Inf(1)}}}
	if err := s.AppendEvent(ctx, id, ev); err != nil {
		t.Fatal(err)
	}
	inc, err := s.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	data := inc.Events[0].Data
	if data["error_rate"] != "NaN" || data["nested"].(map[string]any)["p99"] != "+Inf" {
		t.Errorf("data = %#v", data)
	}
}

func TestRejectsUnstorableTime(t *testing.T) {
	s := openFile(t, ":memory:")
	defer s.Close()
	far := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.RecordDeployment(context.Background(), store.Deployment{At: far}); err == nil {
		t.Error("RecordDeployment with year 12000 succeeded; it could not be read back")
	}
}
