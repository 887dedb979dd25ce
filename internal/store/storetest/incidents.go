package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
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
	want := orig
	want.ID, want.Severity, want.Status = id, incident.Critical, incident.Resolved
	want.Title, want.Reason = "checkout down", "fallback chain exhausted"
	want.FromVersion, want.ToVersion = "v1", "v0"
	want.ImpactStartedAt, want.DetectedAt, want.RollbackStartedAt = at(20), at(21), at(22)
	want.MitigatedAt, want.ResolvedAt, want.UpdatedAt = at(23), at(24), at(25)
	passed := incident.Event{At: at(25), Type: incident.EvStatus, Actor: "ann", Message: "status investigating → resolved"}
	added := incident.Event{At: at(25), Type: incident.EvNote, Actor: "ann", Message: "added by fn"}
	must(t, "UpdateIncident", s.UpdateIncident(t.Context(), id, func(inc *incident.Incident) error {
		// fn sees the stored row, without its timeline.
		checkIncident(t, *inc, withEvents(orig, id, nil))
		inc.Severity, inc.Status = want.Severity, want.Status
		inc.Title, inc.Reason = want.Title, want.Reason
		inc.FromVersion, inc.ToVersion = want.FromVersion, want.ToVersion
		inc.ImpactStartedAt, inc.DetectedAt, inc.RollbackStartedAt = want.ImpactStartedAt, want.DetectedAt, want.RollbackStartedAt
		inc.MitigatedAt, inc.ResolvedAt, inc.UpdatedAt = want.MitigatedAt, want.ResolvedAt, want.UpdatedAt
		// Identity fields are not the update's to change.
		inc.ID, inc.Service, inc.Kind, inc.CreatedAt = "INC-7777", "other", incident.KindManual, at(30)
		inc.Events = append(inc.Events, added)
		return nil
	}, passed))
	// Events passed come first, then the ones fn appended.
	want.Events = append(slices.Clone(orig.Events), passed, added)
	checkIncident(t, get(t, s, id), want)
	_, err := s.GetIncident(t.Context(), "INC-7777")
	wantErr(t, "GetIncident of the ID fn tried to set", err, store.ErrNotFound)
}

func withEvents(inc incident.Incident, id string, evs []incident.Event) incident.Incident {
	inc.ID, inc.Events = id, evs
	return inc
}

// testIncidentUpdateRefused: a status change ValidTransition refuses, or an
// error from fn, writes nothing at all.
func testIncidentUpdateRefused(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := sampleIncident("svc-a", incident.KindRollback, 0)
	orig.Status = incident.Resolved
	id := create(t, s, orig)
	note := incident.Event{At: at(9), Type: incident.EvNote, Actor: "ripcord", Message: "must not land"}
	err := s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		inc.Status, inc.Title = incident.Monitoring, "stale"
		return nil
	}, note)
	wantErr(t, "resolved → monitoring", err, store.ErrInvalidTransition)
	if err != nil && !strings.Contains(err.Error(), "resolved") {
		t.Errorf("error %q does not name the current status", err)
	}
	sentinel := errors.New("changed my mind")
	err = s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		inc.Title = "half done"
		inc.Events = append(inc.Events, note)
		return sentinel
	}, note)
	wantErr(t, "fn error", err, sentinel)
	checkIncident(t, get(t, s, id), withEvents(orig, id, orig.Events))

	// Same status is no change; severity alone may change on a resolved one.
	must(t, "severity on resolved", s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		inc.Severity = incident.Critical
		return nil
	}))
	eq(t, "severity", get(t, s, id).Severity, incident.Critical)
	wantErr(t, "unknown", s.UpdateIncident(ctx, "INC-9999", func(*incident.Incident) error { return nil }, note), store.ErrNotFound)
}

// testIncidentUpdateConcurrent runs two writers at once on one incident —
// a person resolving it and the controller advancing it to monitoring from
// what it last knew — each also appending to the reason and the timeline.
// Nothing is lost: every append lands, and the person's "resolved" is never
// overwritten by the stale "monitoring".
func testIncidentUpdateConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const rounds = 20
	for r := range rounds {
		inc := sampleIncident("svc-a", incident.KindRollback, r)
		inc.Status, inc.Reason, inc.Events = incident.Identified, "", nil
		id := create(t, s, inc)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		writer := func(w int, who string, to incident.Status) {
			defer wg.Done()
			<-start
			for k := range 5 {
				err := s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
					inc.Reason += fmt.Sprintf("%s%d ", who, k)
					if k == 2 {
						inc.Status = to // the controller's idea of the status is stale
					}
					return nil
				}, incident.Event{At: at(r), Type: incident.EvNote, Actor: who, Message: fmt.Sprint(k)})
				if errors.Is(err, store.ErrInvalidTransition) && who == "ripcord" {
					// Refused as a whole: redo the append without the stale status.
					err = s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
						inc.Reason += fmt.Sprintf("%s%d ", who, k)
						return nil
					}, incident.Event{At: at(r), Type: incident.EvNote, Actor: who, Message: fmt.Sprint(k)})
				}
				if err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		}
		wg.Add(2)
		go writer(0, "ann", incident.Resolved)
		go writer(1, "ripcord", incident.Monitoring)
		close(start)
		wg.Wait()
		must(t, "person", errs[0])
		must(t, "controller", errs[1])
		got := get(t, s, id)
		eq(t, fmt.Sprintf("round %d status", r), got.Status, incident.Resolved)
		eq(t, fmt.Sprintf("round %d events", r), len(got.Events), 10)
		for _, who := range []string{"ann", "ripcord"} {
			for k := range 5 {
				if mark := fmt.Sprintf("%s%d ", who, k); !strings.Contains(got.Reason, mark) {
					t.Fatalf("round %d: update %q lost: reason %q", r, mark, got.Reason)
				}
			}
		}
	}
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
	wantErr(t, "UpdateIncident(unknown)", s.UpdateIncident(ctx, "INC-9999", func(*incident.Incident) error { return nil }), store.ErrNotFound)
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
