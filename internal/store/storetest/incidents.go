package storetest

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

var idPattern = regexp.MustCompile(`^INC-\d{4,}$`)

func sampleIncident(service string, kind incident.Kind, n int) incident.Incident {
	return incident.Incident{
		ID: "ignored", Service: service, Kind: kind, Severity: incident.Major,
		Status: incident.Investigating, Title: fmt.Sprintf("%s: error rate up (#%d)", service, n),
		Reason: "error rate 12.0% > 5.0% for 3m", FromVersion: "v2", ToVersion: "v1",
		ImpactStartedAt: at(n), DetectedAt: at(n + 1), RollbackStartedAt: at(n + 2),
		CreatedAt: at(n + 1), UpdatedAt: at(n + 2),
		Events: []incident.Event{
			{At: at(n + 1), Type: incident.EvDetected, Actor: "ripcord", Message: "error rate 12%",
				Data: map[string]any{"error_rate": 0.12, "baseline.error_rate": 0.001}},
			{At: at(n + 2), Type: incident.EvRollbackStarted, Actor: "ripcord", Message: "v2 → v1"},
		},
	}
}

func checkIncident(t *testing.T, got, want incident.Incident) {
	t.Helper()
	eq(t, "ID", got.ID, want.ID)
	eq(t, "Service", got.Service, want.Service)
	eq(t, "Kind", got.Kind, want.Kind)
	eq(t, "Severity", got.Severity, want.Severity)
	eq(t, "Status", got.Status, want.Status)
	eq(t, "Title", got.Title, want.Title)
	eq(t, "Reason", got.Reason, want.Reason)
	eq(t, "FromVersion", got.FromVersion, want.FromVersion)
	eq(t, "ToVersion", got.ToVersion, want.ToVersion)
	sameTime(t, "ImpactStartedAt", got.ImpactStartedAt, want.ImpactStartedAt)
	sameTime(t, "DetectedAt", got.DetectedAt, want.DetectedAt)
	sameTime(t, "RollbackStartedAt", got.RollbackStartedAt, want.RollbackStartedAt)
	sameTime(t, "MitigatedAt", got.MitigatedAt, want.MitigatedAt)
	sameTime(t, "ResolvedAt", got.ResolvedAt, want.ResolvedAt)
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	checkEvents(t, got.Events, want.Events)
}

// checkEvents compares timelines; Data is compared after JSON typing, so
// want must use float64 numbers, and nil and empty Data are alike.
func checkEvents(t *testing.T, got, want []incident.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g, p := got[i], fmt.Sprintf("Events[%d]", i)
		sameTime(t, p+".At", g.At, w.At)
		eq(t, p+".Type", g.Type, w.Type)
		eq(t, p+".Actor", g.Actor, w.Actor)
		eq(t, p+".Message", g.Message, w.Message)
		if len(g.Data) != 0 || len(w.Data) != 0 {
			if !reflect.DeepEqual(g.Data, w.Data) {
				t.Errorf("%s.Data = %#v, want %#v", p, g.Data, w.Data)
			}
		}
	}
}

func create(t *testing.T, s store.Store, inc incident.Incident) string {
	t.Helper()
	id, err := s.CreateIncident(t.Context(), inc)
	must(t, "CreateIncident", err)
	return id
}

func get(t *testing.T, s store.Store, id string) incident.Incident {
	t.Helper()
	inc, err := s.GetIncident(t.Context(), id)
	must(t, "GetIncident "+id, err)
	return inc
}

func testIncidentCreate(t *testing.T, s store.Store) {
	var wants []incident.Incident
	for i, want := range []string{"INC-0001", "INC-0002", "INC-0003"} {
		inc := sampleIncident("svc-a", incident.KindRollback, i*10)
		id := create(t, s, inc)
		eq(t, "new incident ID", id, want)
		inc.ID = id
		wants = append(wants, inc)
	}
	for _, want := range wants {
		checkIncident(t, get(t, s, want.ID), want)
	}
}

func testIncidentUpdate(t *testing.T, s store.Store) {
	orig := sampleIncident("svc-a", incident.KindRollback, 0)
	id := create(t, s, orig)
	upd := orig
	upd.ID, upd.Severity, upd.Status = id, incident.Critical, incident.Resolved
	upd.Title, upd.Reason = "checkout down", "fallback chain exhausted"
	upd.FromVersion, upd.ToVersion = "v1", "v0"
	upd.ImpactStartedAt, upd.DetectedAt, upd.RollbackStartedAt = at(20), at(21), at(22)
	upd.MitigatedAt, upd.ResolvedAt, upd.UpdatedAt = at(23), at(24), at(25)
	// Identity fields and the timeline are not the update's to change.
	upd.Service, upd.Kind, upd.CreatedAt = "other", incident.KindManual, at(30)
	upd.Events = append(upd.Events[:0:0], incident.Event{Type: "bogus"})
	must(t, "UpdateIncident", s.UpdateIncident(t.Context(), upd))

	want := upd
	want.Service, want.Kind, want.CreatedAt, want.Events = orig.Service, orig.Kind, orig.CreatedAt, orig.Events
	checkIncident(t, get(t, s, id), want)
}

func testIncidentEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	inc := sampleIncident("svc-a", incident.KindManual, 0)
	inc.Events = nil
	id := create(t, s, inc)
	eq(t, "events after create without events", len(get(t, s, id).Events), 0)

	// Equal At on purpose: the timeline keeps append order, not a sort.
	evs := []incident.Event{
		{At: at(5), Type: incident.EvOpened, Actor: "alice", Message: "rollback requested"},
		{At: at(5), Type: incident.EvDecision, Actor: "ripcord", Message: "rollback v2 → v1",
			Data: map[string]any{
				"from": "v2", "to": "v1", "error_rate": 0.12, "ok": true, "none": nil,
				"nested": map[string]any{"p99_ms": 840.5, "samples": []any{1.0, "x", false}},
			}},
		{At: at(5), Type: incident.EvRollbackDone, Actor: "ripcord", Message: "switched"},
		{At: at(4), Type: incident.EvNote, Actor: "bob", Message: "late note, earlier At",
			Data: map[string]any{}},
	}
	for _, ev := range evs {
		must(t, "AppendEvent", s.AppendEvent(ctx, id, ev))
	}
	got := get(t, s, id)
	checkEvents(t, got.Events, evs)
	inc.ID = id
	got.Events = nil
	inc.Events = nil
	checkIncident(t, got, inc) // appending leaves the incident row alone
}

func testIncidentNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	create(t, s, sampleIncident("svc-a", incident.KindRollback, 0))
	_, err := s.GetIncident(ctx, "INC-9999")
	wantErr(t, "GetIncident(unknown)", err, store.ErrNotFound)
	upd := sampleIncident("svc-a", incident.KindRollback, 0)
	upd.ID = "INC-9999"
	wantErr(t, "UpdateIncident(unknown)", s.UpdateIncident(ctx, upd), store.ErrNotFound)
	err = s.AppendEvent(ctx, "INC-9999", incident.Event{At: at(1), Type: incident.EvNote})
	wantErr(t, "AppendEvent(unknown)", err, store.ErrNotFound)
	eq(t, "INC-0001 events", len(get(t, s, "INC-0001").Events), 2)
}

func listIDs(t *testing.T, s store.Store, f store.IncidentFilter) string {
	t.Helper()
	got, err := s.ListIncidents(t.Context(), f)
	must(t, "ListIncidents", err)
	var ids []string
	for _, inc := range got {
		if len(inc.Events) != 0 {
			t.Errorf("ListIncidents returned %s with %d events, want none", inc.ID, len(inc.Events))
		}
		ids = append(ids, inc.ID)
	}
	return strings.Join(ids, " ")
}

func testListIncidents(t *testing.T, s store.Store) {
	ctx := t.Context()
	eq(t, "empty store", listIDs(t, s, store.IncidentFilter{}), "")
	specs := []struct {
		service string
		kind    incident.Kind
		status  incident.Status
	}{
		{"svc-a", incident.KindRollback, incident.Investigating}, // INC-0001
		{"svc-b", incident.KindManual, incident.Resolved},        // INC-0002
		{"svc-a", incident.KindBlind, incident.Resolved},         // INC-0003
		{"svc-a", incident.KindRollback, incident.Monitoring},    // INC-0004
		{"svc-b", incident.KindRollback, incident.Investigating}, // INC-0005
	}
	for i, sp := range specs {
		inc := sampleIncident(sp.service, sp.kind, i*10)
		inc.Status = sp.status
		create(t, s, inc)
	}
	all, err := s.ListIncidents(ctx, store.IncidentFilter{})
	must(t, "ListIncidents", err)
	if len(all) == 5 {
		want := sampleIncident("svc-b", incident.KindRollback, 40)
		want.ID, want.Events = "INC-0005", nil
		checkIncident(t, all[0], want)
	}
	cases := []struct {
		name string
		f    store.IncidentFilter
		want string
	}{
		{"all", store.IncidentFilter{}, "INC-0005 INC-0004 INC-0003 INC-0002 INC-0001"},
		{"service", store.IncidentFilter{Service: "svc-a"}, "INC-0004 INC-0003 INC-0001"},
		{"open", store.IncidentFilter{OpenOnly: true}, "INC-0005 INC-0004 INC-0001"},
		{"kind", store.IncidentFilter{Kind: incident.KindRollback}, "INC-0005 INC-0004 INC-0001"},
		{"combined", store.IncidentFilter{Service: "svc-a", OpenOnly: true, Kind: incident.KindRollback},
			"INC-0004 INC-0001"},
		{"limit", store.IncidentFilter{Limit: 2}, "INC-0005 INC-0004"},
		{"unknown service", store.IncidentFilter{Service: "nope"}, ""},
	}
	for _, c := range cases {
		eq(t, "ListIncidents "+c.name, listIDs(t, s, c.f), c.want)
	}
}

func testListIncidentsDefaultLimit(t *testing.T, s store.Store) {
	for i := range 105 {
		inc := sampleIncident("svc-a", incident.KindRollback, i)
		inc.Events = nil
		create(t, s, inc)
	}
	got, err := s.ListIncidents(t.Context(), store.IncidentFilter{})
	must(t, "ListIncidents", err)
	eq(t, "default limit", len(got), 100)
	if len(got) > 0 {
		eq(t, "newest", got[0].ID, "INC-0105")
	}
}

// testIncidentConcurrentCreate: IDs are allocated by the store, so racing
// creators (two services failing at once) must never share one.
func testIncidentConcurrentCreate(t *testing.T, s store.Store) {
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			inc := sampleIncident(fmt.Sprintf("svc-%d", i), incident.KindRollback, i)
			ids[i], errs[i] = s.CreateIncident(t.Context(), inc)
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i, id := range ids {
		must(t, fmt.Sprintf("CreateIncident %d", i), errs[i])
		if !idPattern.MatchString(id) {
			t.Errorf("CreateIncident %d: ID %q does not match %s", i, id, idPattern)
		}
		if j, dup := seen[id]; dup {
			t.Errorf("creators %d and %d both got %s", j, i, id)
		}
		seen[id] = i
		eq(t, id+" service", get(t, s, id).Service, fmt.Sprintf("svc-%d", i))
	}
}
