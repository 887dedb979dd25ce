package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"ServiceRoundTrip", testServiceRoundTrip},
		{"ServiceReplace", testServiceReplace},
		{"ServiceNoVersions", testServiceNoVersions},
		{"ServiceNotFound", testServiceNotFound},
		{"ListServices", testListServices},
		{"SaveServices", testSaveServices},
		{"Deployments", testDeployments},
		{"DecisionLifecycle", testDecisionLifecycle},
		{"DecisionFinishErrors", testDecisionFinishErrors},
		{"DecisionFinishRace", testDecisionFinishRace},
		{"ListDecisions", testListDecisions},
		{"DecisionSnapshotNonFinite", testDecisionSnapshotNonFinite},
		{"Decide", testDecide},
		{"IncidentCreateSequentialIDs", testIncidentCreate},
		{"IncidentUpdate", testIncidentUpdate},
		{"IncidentUpdateRefused", testIncidentUpdateRefused},
		{"IncidentUpdateConcurrent", testIncidentUpdateConcurrent},
		{"IncidentEvents", testIncidentEvents},
		{"IncidentNotFound", testIncidentNotFound},
		{"ListIncidents", testListIncidents},
		{"ListIncidentsDefaultLimit", testListIncidentsDefaultLimit},
		{"IncidentConcurrentCreate", testIncidentConcurrentCreate},
		{"ZeroTimes", testZeroTimes},
		{"EventLogAndCursors", testEventLog},
		{"MetricPoints", testMetricPoints},
		{"MetricPointsFleet", testMetricPointsFleet},
		{"InstallationID", testInstallationID},
		{"IncidentTransitions", testIncidentTransitions},
		{"IncidentReopen", testIncidentReopen},
		{"IncidentUpdateNoLostUpdates", testIncidentUpdateNoLostUpdates},
		{"TimelineMatchesEventLog", testTimelineMatchesEventLog},
		{"DecideReplacesState", testDecideReplacesState},
		{"LinkDecision", testLinkDecision},
		{"ChannelStateAndCursorsIsolated", testChannelStateAndCursorsIsolated},
		{"Sessions", testSessions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// base is deliberately awkward: a non-UTC zone with a half-hour offset and
// every nanosecond digit set, so truncation or a lost zone shows up.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("IST", 5*3600+1800))

// at returns distinct, increasing times around base, each with its own
// nanosecond part.
func at(n int) time.Time {
	return base.Add(time.Duration(n)*time.Minute + time.Duration(n)*time.Nanosecond)
}

// sameTime requires got to be the same instant as want, reported in UTC; a
// zero want requires a zero got.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want the zero time", what, got)
		}
		return
	}
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got.Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

// must fails the test now on an unexpected error.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr requires err to wrap target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want one wrapping %v", what, err, target)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// testZeroTimes: "not set" is the zero time throughout the store types
// (no cooldown, not yet resolved), so it must come back as zero, not as
// 1970 or as year 1 in some other zone.
func testZeroTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	svc := store.ServiceState{Name: "zero", Versions: []store.Version{{Name: "v1"}}}
	must(t, "SaveService", s.SaveService(ctx, svc))
	gotSvc, err := s.LoadService(ctx, "zero")
	must(t, "LoadService", err)
	checkService(t, gotSvc, svc)

	_, err = s.RecordDeployment(ctx, store.Deployment{Service: "zero", Version: "v1"})
	must(t, "RecordDeployment", err)
	deps, err := s.ListDeployments(ctx, "zero", 0)
	must(t, "ListDeployments", err)
	if len(deps) != 1 {
		t.Fatalf("ListDeployments: %d, want 1", len(deps))
	}
	sameTime(t, "Deployment.At", deps[0].At, time.Time{})

	_, err = s.RecordDecision(ctx, store.Decision{Service: "zero", Action: "rollback"})
	must(t, "RecordDecision", err)
	decs := pending(t, s)
	if len(decs) != 1 {
		t.Fatalf("PendingDecisions: %d, want 1", len(decs))
	}
	sameTime(t, "Decision.CreatedAt", decs[0].CreatedAt, time.Time{})
	sameTime(t, "Decision.DoneAt", decs[0].DoneAt, time.Time{})

	inc := incident.Incident{Service: "zero", Kind: incident.KindBlind,
		Severity: incident.Minor, Status: incident.Investigating,
		Events: []incident.Event{{Type: incident.EvNote}}}
	id, err := s.CreateIncident(ctx, inc)
	must(t, "CreateIncident", err)
	inc.ID = id
	checkIncident(t, get(t, s, id), inc)
}
