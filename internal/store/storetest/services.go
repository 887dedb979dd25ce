package storetest

import (
	"fmt"
	"testing"

	"github.com/ripcord/ripcord/internal/store"
)

func sampleService(name string) store.ServiceState {
	// Version names are out of lexical order on purpose: the list must come
	// back in saved order, not sorted.
	return store.ServiceState{
		Name: name, Active: "c-7f3", State: "watching", Paused: true,
		WatchSince: at(1), CooldownUntil: at(2), IncidentID: "INC-0007",
		Fallbacks: 2, UpdatedAt: at(3),
		Canary: store.Canary{Stable: "b-02e", Step: 2, Since: at(7)},
		Versions: []store.Version{
			{Name: "c-7f3", URL: "http://10.0.0.3:8080", AddedAt: at(4)},
			{Name: "a-91b", URL: "http://10.0.0.1:8080", KnownBad: true,
				BadReason: "error rate 12.0% > 5.0% for 3m", AddedAt: at(5)},
			{Name: "b-02e", URL: "http://10.0.0.2:8080", AddedAt: at(6)},
		},
	}
}

func checkService(t *testing.T, got, want store.ServiceState) {
	t.Helper()
	eq(t, "Name", got.Name, want.Name)
	eq(t, "Active", got.Active, want.Active)
	eq(t, "State", got.State, want.State)
	eq(t, "Paused", got.Paused, want.Paused)
	sameTime(t, "WatchSince", got.WatchSince, want.WatchSince)
	sameTime(t, "CooldownUntil", got.CooldownUntil, want.CooldownUntil)
	eq(t, "IncidentID", got.IncidentID, want.IncidentID)
	eq(t, "Fallbacks", got.Fallbacks, want.Fallbacks)
	sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	eq(t, "Canary.Stable", got.Canary.Stable, want.Canary.Stable)
	eq(t, "Canary.Step", got.Canary.Step, want.Canary.Step)
	sameTime(t, "Canary.Since", got.Canary.Since, want.Canary.Since)
	if len(got.Versions) != len(want.Versions) {
		t.Fatalf("%s: %d versions, want %d: %+v", want.Name, len(got.Versions), len(want.Versions), got.Versions)
	}
	for i, w := range want.Versions {
		g := got.Versions[i]
		p := fmt.Sprintf("%s.Versions[%d]", want.Name, i)
		eq(t, p+".Name", g.Name, w.Name)
		eq(t, p+".URL", g.URL, w.URL)
		eq(t, p+".KnownBad", g.KnownBad, w.KnownBad)
		eq(t, p+".BadReason", g.BadReason, w.BadReason)
		sameTime(t, p+".AddedAt", g.AddedAt, w.AddedAt)
	}
}

func testServiceRoundTrip(t *testing.T, s store.Store) {
	want := sampleService("checkout")
	must(t, "SaveService", s.SaveService(t.Context(), want))
	got, err := s.LoadService(t.Context(), "checkout")
	must(t, "LoadService", err)
	checkService(t, got, want)
}

// testServiceReplace checks that a save replaces everything, including
// shrinking the version list and clearing fields.
func testServiceReplace(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "SaveService", s.SaveService(ctx, sampleService("checkout")))
	want := store.ServiceState{
		Name: "checkout", Active: "d-5aa", State: "stable", UpdatedAt: at(9),
		Versions: []store.Version{
			{Name: "d-5aa", URL: "http://10.0.0.4:8080", AddedAt: at(8)},
			{Name: "a-91b", URL: "http://10.0.0.1:8080", AddedAt: at(5)},
		},
	}
	must(t, "SaveService again", s.SaveService(ctx, want))
	got, err := s.LoadService(ctx, "checkout")
	must(t, "LoadService", err)
	checkService(t, got, want)
	all, err := s.ListServices(ctx)
	must(t, "ListServices", err)
	eq(t, "services after replace", len(all), 1)
}

func testServiceNoVersions(t *testing.T, s store.Store) {
	want := sampleService("bare")
	want.Versions = nil
	must(t, "SaveService", s.SaveService(t.Context(), want))
	got, err := s.LoadService(t.Context(), "bare")
	must(t, "LoadService", err)
	checkService(t, got, want)
}

func testServiceNotFound(t *testing.T, s store.Store) {
	_, err := s.LoadService(t.Context(), "nope")
	wantErr(t, "LoadService(unknown)", err, store.ErrNotFound)
}

// testListServices checks name order and that each service gets its own
// versions, not a neighbour's.
func testListServices(t *testing.T, s store.Store) {
	ctx := t.Context()
	empty, err := s.ListServices(ctx)
	must(t, "ListServices(empty)", err)
	eq(t, "services in empty store", len(empty), 0)

	var want []store.ServiceState
	for i, name := range []string{"web", "api", "db"} {
		st := sampleService(name)
		st.Versions = st.Versions[:i+1]
		st.Fallbacks = i
		must(t, "SaveService "+name, s.SaveService(ctx, st))
		want = append(want, st)
	}
	got, err := s.ListServices(ctx)
	must(t, "ListServices", err)
	if len(got) != 3 {
		t.Fatalf("ListServices: %d services, want 3", len(got))
	}
	order := []int{1, 2, 0} // api, db, web
	for i, j := range order {
		checkService(t, got[i], want[j])
	}
}

// testSaveServices: a store saves many services at once
// (store.ServicesSaver: a fleet's boot states in one transaction) as
// SaveService would save each, replacing what was there, and a batch with
// one bad state saves none of it. Every store ripcord ships has it.
func testSaveServices(t *testing.T, s store.Store) {
	bs, ok := s.(store.ServicesSaver)
	if !ok {
		t.Fatalf("%T does not implement store.ServicesSaver: a fleet would start with one transaction per service", s)
	}
	ctx := t.Context()
	must(t, "SaveService", s.SaveService(ctx, sampleService("web")))
	web := sampleService("web")
	web.Versions, web.Fallbacks = web.Versions[:1], 2
	api := sampleService("api")
	must(t, "SaveServices", bs.SaveServices(ctx, []store.ServiceState{web, api}))
	for _, want := range []store.ServiceState{web, api} {
		got, err := s.LoadService(ctx, want.Name)
		must(t, "LoadService "+want.Name, err)
		checkService(t, got, want)
	}
	db := sampleService("db")
	if err := bs.SaveServices(ctx, []store.ServiceState{db, {Active: "v1"}}); err == nil {
		t.Fatal("SaveServices with an unnamed state: no error")
	}
	_, err := s.LoadService(ctx, "db")
	wantErr(t, "LoadService(db) after the refused batch", err, store.ErrNotFound)
}
