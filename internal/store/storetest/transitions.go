package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

var statuses = []incident.Status{incident.Investigating, incident.Identified, incident.Monitoring, incident.Resolved}

// testIncidentTransitions tries every status change through UpdateIncident:
// the ones incident.ValidTransition allows are written with their event;
// every other one wraps ErrInvalidTransition and writes nothing — not the
// status, not the other fields fn changed, not the events. A store that
// checked transitions itself (a CHECK, a trigger) must agree with
// ValidTransition pair for pair.
func testIncidentTransitions(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, from := range statuses {
		for _, to := range statuses {
			if from == to {
				continue
			}
			inc := sampleIncident("svc-a", incident.KindRollback, 0)
			inc.Status, inc.Events = from, nil
			id := create(t, s, inc)
			ev := incident.Event{At: at(3), Type: incident.EvStatus, Actor: "ann",
				Message: fmt.Sprintf("status %s → %s", from, to), Data: map[string]any{"from": string(from), "to": string(to)}}
			err := s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
				inc.Status, inc.Title = to, "changed"
				return nil
			}, ev)
			got := get(t, s, id)
			name := fmt.Sprintf("%s → %s", from, to)
			if incident.ValidTransition(from, to) {
				must(t, name, err)
				eq(t, name+" status", got.Status, to)
				eq(t, name+" title", got.Title, "changed")
				checkEvents(t, got.Events, []incident.Event{ev})
				continue
			}
			wantErr(t, name, err, store.ErrInvalidTransition)
			if err != nil && (!strings.Contains(err.Error(), string(from)) || !strings.Contains(err.Error(), string(to))) {
				t.Errorf("%s: error %q does not name both statuses", name, err)
			}
			eq(t, name+" status kept", got.Status, from)
			eq(t, name+" title kept", got.Title, inc.Title)
			eq(t, name+" events", len(got.Events), 0)
		}
	}
}

// testIncidentReopen walks the one backward step a person may take, and
// then on to resolved; the timeline records each step in order.
func testIncidentReopen(t *testing.T, s store.Store) {
	ctx := t.Context()
	inc := sampleIncident("svc-a", incident.KindRollback, 0)
	inc.Events = nil
	id := create(t, s, inc)
	path := []incident.Status{incident.Identified, incident.Monitoring, incident.Investigating,
		incident.Identified, incident.Monitoring, incident.Resolved}
	var want []incident.Event
	prev := inc.Status
	for i, to := range path {
		ev := incident.Event{At: at(10 + i), Type: incident.EvStatus, Actor: "ann", Message: fmt.Sprintf("%s → %s", prev, to)}
		must(t, ev.Message, s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
			if inc.Status != prev {
				return fmt.Errorf("fn saw status %s, want %s", inc.Status, prev)
			}
			inc.Status = to
			return nil
		}, ev))
		want = append(want, ev)
		prev = to
	}
	got := get(t, s, id)
	eq(t, "final status", got.Status, incident.Resolved)
	checkEvents(t, got.Events, want)
	if got.Open() {
		t.Error("a resolved incident reads as open")
	}
	wantErr(t, "resolved → investigating", s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		inc.Status = incident.Investigating
		return nil
	}), store.ErrInvalidTransition)
}

// testIncidentUpdateNoLostUpdates: many writers each increment a counter
// kept in the incident (read, add one, write back). With a true
// read-modify-write transaction the count is exact; a store that read
// outside the write lock would lose increments.
func testIncidentUpdateNoLostUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	inc := sampleIncident("svc-a", incident.KindRollback, 0)
	inc.Title, inc.Events = "0", nil
	id := create(t, s, inc)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for k := range each {
				err := s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
					n, err := strconv.Atoi(inc.Title)
					if err != nil {
						return err
					}
					inc.Title = strconv.Itoa(n + 1)
					return nil
				}, incident.Event{At: at(1), Type: incident.EvNote, Actor: fmt.Sprint(w), Message: fmt.Sprint(k)})
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	got := get(t, s, id)
	eq(t, "counter", got.Title, strconv.Itoa(writers*each))
	eq(t, "events", len(got.Events), writers*each)
}

// testTimelineMatchesEventLog: the timeline GetIncident returns and the
// global log EventsAfter reads are the same events with the same Seq, in
// the same order, whichever call wrote them (create, append, update).
func testTimelineMatchesEventLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := create(t, s, sampleIncident("svc-a", incident.KindRollback, 0)) // two events
	b := create(t, s, sampleIncident("svc-b", incident.KindManual, 1))   // two events
	must(t, "append a", s.AppendEvent(ctx, a, incident.Event{At: at(5), Type: incident.EvNote, Actor: "ann", Message: "a3"}))
	must(t, "update b", s.UpdateIncident(ctx, b, func(inc *incident.Incident) error {
		inc.Events = append(inc.Events, incident.Event{At: at(6), Type: incident.EvNote, Actor: "fn", Message: "b4"})
		return nil
	}, incident.Event{At: at(6), Type: incident.EvNote, Actor: "arg", Message: "b3"}))
	must(t, "append a", s.AppendEvent(ctx, a, incident.Event{At: at(7), Type: incident.EvNote, Actor: "ann", Message: "a4"}))

	log, err := s.EventsAfter(ctx, 0, 0)
	must(t, "EventsAfter", err)
	eq(t, "log length", len(log), 8)
	byIncident := map[string][]incident.Event{}
	var order []string
	for i, r := range log {
		if i > 0 && r.Event.Seq <= log[i-1].Event.Seq {
			t.Errorf("log seq %d after %d", r.Event.Seq, log[i-1].Event.Seq)
		}
		byIncident[r.IncidentID] = append(byIncident[r.IncidentID], r.Event)
		order = append(order, r.IncidentID+":"+r.Event.Actor)
	}
	eq(t, "log order", strings.Join(order, " "),
		a+":ripcord "+a+":ripcord "+b+":ripcord "+b+":ripcord "+a+":ann "+b+":arg "+b+":fn "+a+":ann")
	for _, id := range []string{a, b} {
		tl := get(t, s, id).Events
		if len(tl) != len(byIncident[id]) {
			t.Fatalf("%s: timeline %d events, log %d", id, len(tl), len(byIncident[id]))
		}
		for i, ev := range tl {
			if ev.Seq == 0 || ev.Seq != byIncident[id][i].Seq || ev.Message != byIncident[id][i].Message {
				t.Errorf("%s event %d: timeline seq %d %q, log seq %d %q", id, i, ev.Seq, ev.Message,
					byIncident[id][i].Seq, byIncident[id][i].Message)
			}
		}
	}
	last, err := s.LastEventSeq(ctx)
	must(t, "LastEventSeq", err)
	eq(t, "last seq", last, log[len(log)-1].Event.Seq)
	tail, err := s.EventsAfter(ctx, last, 10)
	must(t, "EventsAfter(last)", err)
	eq(t, "events after the last", len(tail), 0)
	// A refused update adds nothing to the log.
	err = s.UpdateIncident(ctx, a, func(*incident.Incident) error { return errors.New("no") },
		incident.Event{At: at(8), Type: incident.EvNote, Message: "refused"})
	if err == nil {
		t.Fatal("an fn error did not abort the update")
	}
	after, err := s.LastEventSeq(ctx)
	must(t, "LastEventSeq", err)
	eq(t, "last seq after a refused update", after, last)
}

// testDecideReplacesState: Decide saves the whole state like SaveService —
// a shorter version list and cleared fields included — and its decision is
// listed like any other.
func testDecideReplacesState(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "SaveService", s.SaveService(ctx, sampleService("checkout")))
	st := store.ServiceState{Name: "checkout", Active: "a-91b", State: "reverting", UpdatedAt: at(9),
		Versions: []store.Version{{Name: "a-91b", URL: "http://10.0.0.1:8080", AddedAt: at(5)}}}
	d := sampleDecision("checkout", 3)
	id, err := s.Decide(ctx, d, st)
	must(t, "Decide", err)
	got, err := s.LoadService(ctx, "checkout")
	must(t, "LoadService", err)
	checkService(t, got, st)
	list, err := s.ListDecisions(ctx, "checkout", 0)
	must(t, "ListDecisions", err)
	if len(list) != 1 {
		t.Fatalf("ListDecisions: %d, want 1", len(list))
	}
	d.ID, d.Status = id, store.DecisionPending
	checkDecision(t, "decided", list[0], d)
}

// testLinkDecision: linking changes the incident and nothing else, works on
// a finished decision (the incident is opened after the switch, which may
// already have finished it), may be repeated, and touches only its own
// decision.
func testLinkDecision(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := sampleDecision("svc-a", 1)
	first.IncidentID = ""
	id1, err := s.RecordDecision(ctx, first)
	must(t, "RecordDecision", err)
	other := sampleDecision("svc-a", 2)
	other.IncidentID = "INC-0009"
	id2, err := s.RecordDecision(ctx, other)
	must(t, "RecordDecision", err)
	must(t, "FinishDecision", s.FinishDecision(ctx, id1, store.DecisionDone, "switched", at(3)))
	must(t, "LinkDecision", s.LinkDecision(ctx, id1, "INC-0001"))
	must(t, "LinkDecision again", s.LinkDecision(ctx, id1, "INC-0002"))
	list, err := s.ListDecisions(ctx, "svc-a", 0)
	must(t, "ListDecisions", err)
	if len(list) != 2 {
		t.Fatalf("ListDecisions: %d, want 2", len(list))
	}
	first.ID, first.Status, first.Result, first.DoneAt, first.IncidentID = id1, store.DecisionDone, "switched", at(3), "INC-0002"
	other.ID, other.Status = id2, store.DecisionPending
	checkDecision(t, "linked", list[1], first)
	checkDecision(t, "untouched", list[0], other)
	err = s.FinishDecision(ctx, id1, store.DecisionFailed, "again", at(4))
	wantErr(t, "finish after link", err, store.ErrAlreadyFinished)
	wantErr(t, "LinkDecision(0)", s.LinkDecision(ctx, 0, "INC-0001"), store.ErrNotFound)
}

// testChannelStateAndCursorsIsolated: a handle belongs to one channel and
// one incident, a cursor to one consumer; moving one never moves another,
// and a cursor may be set back (a replay).
func testChannelStateAndCursorsIsolated(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "set", s.SetChannelState(ctx, "slack", "INC-0001", "s1"))
	must(t, "set", s.SetChannelState(ctx, "slack", "INC-0002", "s2"))
	must(t, "set", s.SetChannelState(ctx, "jira:OPS", "INC-0001", `{"key":"OPS-7","seq":3}`))
	for _, tc := range []struct{ ch, id, want string }{
		{"slack", "INC-0001", "s1"}, {"slack", "INC-0002", "s2"},
		{"jira:OPS", "INC-0001", `{"key":"OPS-7","seq":3}`}, {"jira:OPS", "INC-0002", ""}, {"jira", "INC-0001", ""},
	} {
		v, err := s.ChannelState(ctx, tc.ch, tc.id)
		must(t, "ChannelState", err)
		eq(t, "channel state "+tc.ch+"/"+tc.id, v, tc.want)
	}
	must(t, "cursor", s.SetCursor(ctx, "notify:slack", 10))
	must(t, "cursor", s.SetCursor(ctx, "notify:jira", 3))
	must(t, "cursor back", s.SetCursor(ctx, "notify:slack", 4))
	must(t, "cursor zero", s.SetCursor(ctx, "notify:zero", 0))
	for name, want := range map[string]int64{"notify:slack": 4, "notify:jira": 3, "notify:zero": 0} {
		seq, found, err := s.Cursor(ctx, name)
		must(t, "Cursor", err)
		eq(t, name+" found", found, true)
		eq(t, name+" seq", seq, want)
	}
}
