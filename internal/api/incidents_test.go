package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

func incidentServer(t *testing.T) (*apiclient.Client, store.Store, func() int) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var mu sync.Mutex
	wakes := 0
	const token = "incidents-test-operator-token"
	srv := httptest.NewServer(api.New(api.Options{Store: st, Notify: func() { mu.Lock(); wakes++; mu.Unlock() },
		Tokens: []config.Token{{Name: "sre", Role: config.RoleOperator, Value: token}},
		Now:    func() time.Time { return time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC) }}).Handler())
	t.Cleanup(srv.Close)
	return apiclient.New(srv.URL, token), st, func() int { mu.Lock(); defer mu.Unlock(); return wakes }
}

func openIncident(t *testing.T, st store.Store) string {
	t.Helper()
	at := time.Date(2025, 5, 1, 11, 0, 0, 0, time.UTC)
	id, err := st.CreateIncident(t.Context(), incident.Incident{Service: "svc", Kind: incident.KindRollback,
		Severity: incident.Major, Status: incident.Investigating, Title: "svc: automatic rollback v2 → v1",
		CreatedAt: at, UpdatedAt: at, Events: []incident.Event{{At: at, Type: incident.EvOpened, Actor: "ripcord"}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func httpStatus(err error) int {
	var e *apiclient.Error
	if errors.As(err, &e) {
		return e.Status
	}
	if err != nil {
		return -1
	}
	return http.StatusOK
}

// TestIncidentStatusMoves walks one incident through the status machine
// over HTTP: each allowed move lands with its event and wakes delivery; a
// refused one is 409 naming the current status and writes nothing.
func TestIncidentStatusMoves(t *testing.T) {
	c, st, wakes := incidentServer(t)
	id := openIncident(t, st)
	steps := []struct {
		status, note string
		want         int
	}{
		{"identified", "looking", http.StatusOK},
		{"investigating", "", http.StatusConflict}, // identified cannot go back
		{"monitoring", "", http.StatusOK},
		{"investigating", "fix did not hold", http.StatusOK}, // a person may reopen
		{"resolved", "done", http.StatusOK},
		{"monitoring", "", http.StatusConflict},
		{"resolved", "", http.StatusConflict},
		{"closed", "", http.StatusBadRequest},
	}
	okMoves := 0
	for _, s := range steps {
		inc, err := c.SetStatus(t.Context(), id, s.status, s.note)
		if got := httpStatus(err); got != s.want {
			t.Fatalf("→ %s: HTTP %d (%v), want %d", s.status, got, err, s.want)
		}
		if s.want != http.StatusOK {
			continue
		}
		okMoves++
		last := inc.Events[len(inc.Events)-1]
		if inc.Status != incident.Status(s.status) || last.Type != incident.EvStatus || last.Actor != "sre" {
			t.Fatalf("→ %s: incident %s, last event %+v", s.status, inc.Status, last)
		}
	}
	inc, err := c.Incident(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Events) != 1+okMoves || inc.ResolvedAt.IsZero() || inc.MitigatedAt.IsZero() {
		t.Fatalf("after the walk: %d events (want %d), resolved %v, mitigated %v", len(inc.Events), 1+okMoves, inc.ResolvedAt, inc.MitigatedAt)
	}
	if wakes() != okMoves {
		t.Fatalf("delivery woken %d times for %d changes", wakes(), okMoves)
	}
	if _, err := c.Resolve(t.Context(), "INC-9999", ""); httpStatus(err) != http.StatusNotFound {
		t.Fatalf("unknown incident: %v", err)
	}
}

// TestResolveWinsOverStaleController: while a person resolves over the API,
// a controller-style writer keeps advancing the same incident to monitoring
// through the store. Whatever the order, the incident ends resolved and
// every write's event is on the timeline.
func TestResolveWinsOverStaleController(t *testing.T) {
	c, st, _ := incidentServer(t)
	for range 10 {
		id := openIncident(t, st)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var apiErr, ctlErr error
		wg.Go(func() {
			<-start
			_, apiErr = c.Resolve(t.Context(), id, "fixed by hand")
		})
		wg.Go(func() {
			<-start
			for range 5 {
				err := st.UpdateIncident(t.Context(), id, func(inc *incident.Incident) error {
					if incident.ValidTransition(inc.Status, incident.Monitoring) {
						inc.Status = incident.Monitoring
					}
					return nil
				}, incident.Event{At: time.Now(), Type: incident.EvVerified, Actor: "ripcord"})
				if err != nil {
					ctlErr = err
				}
			}
		})
		close(start)
		wg.Wait()
		if apiErr != nil || ctlErr != nil {
			t.Fatalf("resolve: %v; controller: %v", apiErr, ctlErr)
		}
		inc, err := st.GetIncident(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != incident.Resolved || len(inc.Events) != 1+1+5 {
			t.Fatalf("%s ended %s with %d events", id, inc.Status, len(inc.Events))
		}
	}
}
