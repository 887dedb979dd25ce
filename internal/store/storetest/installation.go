package storetest

import (
	"context"
	"testing"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// testInstallationID: a store has one non-empty installation id, and every
// incident it creates carries it, whatever the caller passed.
func testInstallationID(t *testing.T, s store.Store) {
	ctx := context.Background()
	id, err := s.InstallationID(ctx)
	if err != nil || id == "" {
		t.Fatalf("InstallationID = %q, %v", id, err)
	}
	if again, _ := s.InstallationID(ctx); again != id {
		t.Fatalf("InstallationID changed: %q then %q", id, again)
	}
	inc := sampleIncident("svc", incident.KindRollback, 1)
	inc.Installation = "forged"
	incID, err := s.CreateIncident(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIncident(ctx, incID)
	if err != nil || got.Installation != id {
		t.Fatalf("created incident has installation %q, %v; want the store's %q", got.Installation, err, id)
	}
	list, err := s.ListIncidents(ctx, store.IncidentFilter{})
	if err != nil || len(list) != 1 || list[0].Installation != id {
		t.Fatalf("ListIncidents: %+v %v", list, err)
	}
}
