package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// testEventLog: the global event log is ordered, spans incidents, and
// cursors persist per consumer.
func testEventLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	last, err := s.LastEventSeq(ctx)
	must(t, "last seq of empty log", err)
	eq(t, "last seq of empty log", last, int64(0))
	a, err := s.CreateIncident(ctx, incident.Incident{Service: "svc", Kind: incident.KindRollback, Severity: incident.Major,
		Status: incident.Investigating, CreatedAt: at(1), UpdatedAt: at(1),
		Events: []incident.Event{{At: at(1), Type: incident.EvOpened, Actor: "ripcord", Message: "a opened"}}})
	must(t, "create a", err)
	b, err := s.CreateIncident(ctx, incident.Incident{Service: "svc", Kind: incident.KindBlind, Severity: incident.Minor,
		Status: incident.Investigating, CreatedAt: at(2), UpdatedAt: at(2)})
	must(t, "create b", err)
	must(t, "append b", s.AppendEvent(ctx, b, incident.Event{At: at(3), Type: incident.EvNote, Actor: "ann", Message: "b note",
		Data: map[string]any{"k": "v"}}))
	must(t, "append a", s.AppendEvent(ctx, a, incident.Event{At: at(4), Type: incident.EvRollbackDone, Actor: "ripcord", Message: "a done"}))

	evs, err := s.EventsAfter(ctx, 0, 10)
	must(t, "events after 0", err)
	eq(t, "events", len(evs), 3)
	eq(t, "first incident", evs[0].IncidentID, a)
	eq(t, "second incident", evs[1].IncidentID, b)
	eq(t, "second message", evs[1].Event.Message, "b note")
	eq(t, "second data", evs[1].Event.Data["k"], any("v"))
	for i := 1; i < len(evs); i++ {
		if evs[i].Event.Seq <= evs[i-1].Event.Seq {
			t.Fatalf("seq not increasing: %d then %d", evs[i-1].Event.Seq, evs[i].Event.Seq)
		}
	}
	rest, err := s.EventsAfter(ctx, evs[0].Event.Seq, 10)
	must(t, "events after first", err)
	eq(t, "rest", len(rest), 2)
	one, err := s.EventsAfter(ctx, 0, 1)
	must(t, "limit", err)
	eq(t, "limit 1", len(one), 1)
	last, err = s.LastEventSeq(ctx)
	must(t, "last seq", err)
	eq(t, "last seq", last, evs[2].Event.Seq)
	got, err := s.GetIncident(ctx, a)
	must(t, "get a", err)
	eq(t, "timeline seq", got.Events[1].Seq, evs[2].Event.Seq)

	_, found, err := s.Cursor(ctx, "slack")
	must(t, "new cursor", err)
	eq(t, "new cursor found", found, false)
	must(t, "set cursor", s.SetCursor(ctx, "slack", 7))
	must(t, "move cursor", s.SetCursor(ctx, "slack", 9))
	seq, found, err := s.Cursor(ctx, "slack")
	must(t, "cursor", err)
	eq(t, "cursor found", found, true)
	eq(t, "cursor seq", seq, int64(9))

	v, err := s.ChannelState(ctx, "slack", a)
	must(t, "empty channel state", err)
	eq(t, "empty channel state", v, "")
	must(t, "set channel state", s.SetChannelState(ctx, "slack", a, `{"ts":"1.2"}`))
	must(t, "replace channel state", s.SetChannelState(ctx, "slack", a, `{"ts":"1.3"}`))
	v, err = s.ChannelState(ctx, "slack", a)
	must(t, "channel state", err)
	eq(t, "channel state", v, `{"ts":"1.3"}`)

	// An update and the events announcing it land together.
	must(t, "update with events", s.UpdateIncident(ctx, b, func(inc *incident.Incident) error {
		inc.Status = incident.Resolved
		return nil
	},
		incident.Event{At: at(5), Type: incident.EvStatus, Actor: "ann", Message: "status investigating → resolved"},
		incident.Event{At: at(5), Type: incident.EvNote, Actor: "ann", Message: "done"}))
	inc, err := s.GetIncident(ctx, b)
	must(t, "get b again", err)
	eq(t, "status", inc.Status, incident.Resolved)
	eq(t, "events with update", len(inc.Events), 3)
	eq(t, "last event", inc.Events[2].Message, "done")
	wantErr(t, "update unknown with events", s.UpdateIncident(ctx, "INC-9999", func(*incident.Incident) error { return nil },
		incident.Event{At: at(6), Type: "x"}), store.ErrNotFound)
}

func testMetricPoints(t *testing.T, s store.Store) {
	ctx := context.Background()
	pts := []store.MetricPoint{
		{Service: "svc", Version: "v1", At: at(1), Requests: 200, Errors: 1, P50Ms: 3.5, P99Ms: 12},
		{Service: "svc", Version: "v2", At: at(2), Requests: 190, Errors: 95, P50Ms: 4, P99Ms: 30, Values: map[string]float64{"quality_score": 0.6}},
		{Service: "other", Version: "v1", At: at(2), Requests: 5},
		{Service: "svc", Version: "v1", At: at(3), Requests: 201},
	}
	must(t, "record", s.RecordMetrics(ctx, pts))
	got, err := s.Metrics(ctx, "svc", at(2), at(3))
	must(t, "read", err)
	eq(t, "points in range", len(got), 2)
	eq(t, "version", got[0].Version, "v2")
	eq(t, "errors", got[0].Errors, int64(95))
	eq(t, "p99", got[0].P99Ms, 30.0)
	eq(t, "pushed value", got[0].Values["quality_score"], 0.6)
	sameTime(t, "at", got[1].At, at(3))
	n, err := s.PruneMetrics(ctx, at(3))
	must(t, "prune", err)
	eq(t, "pruned", n, int64(3))
	got, err = s.Metrics(ctx, "svc", at(0), at(9))
	must(t, "read after prune", err)
	eq(t, "left", len(got), 1)
}

// A fleet's second of points is one batch: every point of it is written,
// however a store splits it into statements.
func testMetricPointsFleet(t *testing.T, s store.Store) {
	ctx := context.Background()
	var pts []store.MetricPoint
	for i := range 1000 {
		pts = append(pts, store.MetricPoint{Service: "fleet", Version: "v1", At: at(1).Add(time.Duration(i) * time.Millisecond), Requests: int64(i)})
	}
	must(t, "record", s.RecordMetrics(ctx, pts))
	got, err := s.Metrics(ctx, "fleet", at(0), at(9))
	must(t, "read", err)
	eq(t, "points", len(got), 1000)
	eq(t, "last point's requests", got[999].Requests, int64(999))
}
