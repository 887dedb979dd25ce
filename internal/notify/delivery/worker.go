package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/store"
)

// worker delivers one channel's events in log order.
type worker struct {
	d    *Dispatcher
	ch   Channel
	wake chan struct{}
	log  *slog.Logger
	// told remembers incidents this channel has delivered something for, so
	// the timeline gets one "notified" line per channel, not one per update.
	told map[string]bool
}

func (w *worker) run(ctx context.Context) {
	w.told = map[string]bool{}
	for ctx.Err() == nil {
		n, err := w.batch(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("delivery batch failed; retrying", "err", err)
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-time.After(w.d.o.Poll):
		}
	}
}

// batch delivers the events past the cursor and returns how many it handled.
func (w *worker) batch(ctx context.Context) (int, error) {
	name := cursorName(w.ch.Name)
	cur, _, err := w.d.st.Cursor(ctx, name)
	if err != nil {
		return 0, err
	}
	evs, err := w.d.st.EventsAfter(ctx, cur, 100)
	if err != nil {
		return 0, err
	}
	for _, ev := range evs {
		if err := w.handle(ctx, ev); err != nil {
			return 0, err // ctx ended mid-retry: the cursor stays, the event is redone
		}
		if err := w.d.st.SetCursor(ctx, name, ev.Event.Seq); err != nil {
			return 0, err
		}
	}
	return len(evs), nil
}

// handle delivers one event if this channel should hear about it.
func (w *worker) handle(ctx context.Context, ref store.EventRef) error {
	if !announce(ref.Event.Type) {
		return nil
	}
	inc, err := w.d.st.GetIncident(ctx, ref.IncidentID)
	if err != nil {
		return fmt.Errorf("load %s: %w", ref.IncidentID, err)
	}
	if !w.hears(inc) {
		return nil
	}
	msg := message(inc, ref.Event)
	if w.d.o.ReportURL != nil {
		msg.ReportURL = w.d.o.ReportURL(inc.ID)
	}
	return w.deliver(ctx, msg)
}

// deliver retries until the channel accepts or refuses for good.
func (w *worker) deliver(ctx context.Context, msg notify.Message) error {
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, w.d.o.Timeout)
		err := w.ch.Notifier.Notify(actx, msg)
		cancel()
		if err == nil {
			if h := w.d.o.AfterAccepted; h != nil {
				h(w.ch.Name, msg)
			}
			if !w.told[msg.IncidentID] && !w.ch.Quiet {
				w.told[msg.IncidentID] = true
				w.record(ctx, msg, incident.EvNotified, fmt.Sprintf("%s: %s delivered (attempt %d)", w.ch.Name, msg.Update, attempt+1))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		retry, after := notify.IsRetryable(err)
		if !retry {
			w.log.Error("notification refused; not retrying", "incident", msg.IncidentID, "update", msg.Update, "err", err)
			w.record(ctx, msg, incident.EvNotifyFailed, fmt.Sprintf("%s: %s refused, not retried: %v", w.ch.Name, msg.Update, err))
			return nil
		}
		wait := w.d.backoff(attempt, after)
		w.log.Warn("notification failed; will retry", "incident", msg.IncidentID, "attempt", attempt+1, "in", wait, "err", err)
		if attempt == 2 {
			w.record(ctx, msg, incident.EvNotifyFailed, fmt.Sprintf("%s: %s failing, still retrying: %v", w.ch.Name, msg.Update, err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (w *worker) record(ctx context.Context, msg notify.Message, typ, text string) {
	err := w.d.st.AppendEvent(ctx, msg.IncidentID, incident.Event{At: time.Now(), Type: typ, Actor: "ripcord", Message: text,
		Data: map[string]any{"channel": w.ch.Name, "seq": msg.Seq}})
	if err != nil && !errors.Is(err, context.Canceled) {
		w.log.Warn("recording delivery on the timeline failed", "err", err)
	}
}

// announce says which timeline events are news for people. Internal steps
// (the detection detail, "rollback started" a millisecond before "done") and
// delivery records themselves are not.
func announce(typ string) bool {
	switch typ {
	case incident.EvOpened, incident.EvRollbackDone, incident.EvRollbackFailed, incident.EvVerified,
		incident.EvFallback, incident.EvEscalated, incident.EvSuppressed, incident.EvStatus,
		incident.EvNote, incident.EvDataReturned:
		return true
	}
	return false
}

// message renders an incident and the event that changed it.
func message(inc incident.Incident, ev incident.Event) notify.Message {
	up := notify.Updated
	switch {
	case ev.Type == incident.EvOpened:
		up = notify.Opened
	case ev.Type == incident.EvStatus && ev.Data["to"] == string(incident.Resolved):
		up = notify.Resolved
	case ev.Type == incident.EvDataReturned && inc.Status == incident.Resolved:
		up = notify.Resolved
	}
	e := ev
	full := inc
	return notify.Message{Update: up, IncidentID: inc.ID, Service: inc.Service, Kind: inc.Kind, Severity: inc.Severity,
		Status: inc.Status, Title: inc.Title, Reason: inc.Reason, From: inc.FromVersion, To: inc.ToVersion,
		Event: &e, At: ev.At, Incident: &full, Seq: ev.Seq, Installation: inc.Installation}
}

// hears reports whether the channel's routes let inc through: its severity,
// and for a drill a route with drills: true.
func (w *worker) hears(inc incident.Incident) bool {
	if inc.Kind == incident.KindDrill {
		return w.ch.Drills && inc.Severity.Rank() >= w.ch.DrillSeverity.Rank()
	}
	return inc.Severity.Rank() >= w.ch.MinSeverity.Rank()
}
