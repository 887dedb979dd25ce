package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	f := store.IncidentFilter{Service: q.Get("service"), OpenOnly: q.Get("open") == "true",
		Kind: incident.Kind(q.Get("kind")), Limit: intParam(r, "limit", 100)}
	incs, err := s.store.ListIncidents(r.Context(), f)
	if err != nil {
		s.internal(w, err)
		return
	}
	if incs == nil {
		incs = []incident.Incident{}
	}
	writeJSON(w, http.StatusOK, incs)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request, _ string) {
	inc, ok := s.loadIncident(w, r)
	if ok {
		writeJSON(w, http.StatusOK, inc)
	}
}

// NoteRequest is the body of POST /incidents/{id}/notes.
type NoteRequest struct {
	Text string `json:"text"`
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, actor string) {
	var req NoteRequest
	if !decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "text: required (the note to add to the timeline)")
		return
	}
	inc, ok := s.loadIncident(w, r)
	if !ok {
		return
	}
	if err := s.store.AppendEvent(r.Context(), inc.ID, incident.Event{At: s.now(), Type: incident.EvNote, Actor: actor, Message: req.Text}); err != nil {
		s.internal(w, err)
		return
	}
	s.wake()
	s.getIncident(w, r, actor)
}

// StatusRequest is the body of POST /incidents/{id}/status.
type StatusRequest struct {
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, actor string) {
	var req StatusRequest
	if !decode(w, r, &req) {
		return
	}
	to, err := incident.ParseStatus(req.Status)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "status: "+err.Error())
		return
	}
	s.changeStatus(w, r, actor, to, req.Note)
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request, actor string) {
	var req NoteRequest
	if !decode(w, r, &req) {
		return
	}
	s.changeStatus(w, r, actor, incident.Resolved, req.Text)
}

// changeStatus moves an incident's status (ChangeStatus) and answers.
func (s *Server) changeStatus(w http.ResponseWriter, r *http.Request, actor string, to incident.Status, note string) {
	id := r.PathValue("id")
	err := ChangeStatus(r.Context(), s.store, id, actor, to, note, s.now())
	var refused *RefusedError
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no incident %q (list them with `ripcord incidents`)", id))
		return
	case errors.As(err, &refused):
		writeError(w, http.StatusConflict, "conflict", refused.Error())
		return
	case err != nil:
		s.internal(w, err)
		return
	}
	s.wake()
	s.getIncident(w, r, actor)
}

// RefusedError is a status change the incident's status machine refuses.
type RefusedError struct{ msg string }

func (e *RefusedError) Error() string { return e.msg }

// ChangeStatus moves an incident's status in one store transaction, judged
// against the status it has then (not when the request was read), so it
// never overwrites a change made meanwhile; the change lands on the
// timeline with actor. The API and the dashboard both change incidents
// through it. A refused move is a *RefusedError; an unknown id wraps
// store.ErrNotFound.
func ChangeStatus(ctx context.Context, st store.Store, id, actor string, to incident.Status, note string, now time.Time) error {
	var refused error
	err := st.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		from := inc.Status
		if !incident.ValidTransition(from, to) {
			refused = &RefusedError{fmt.Sprintf("incident %s is %s; it cannot move to %s", inc.ID, from, to)}
			return refused
		}
		inc.Status, inc.UpdatedAt = to, now
		if to == incident.Resolved {
			inc.ResolvedAt = now
		}
		if to == incident.Monitoring && inc.MitigatedAt.IsZero() {
			inc.MitigatedAt = now
		}
		msg := fmt.Sprintf("status %s → %s", from, to)
		if note != "" {
			msg += ": " + note
		}
		inc.Events = append(inc.Events, incident.Event{At: now, Type: incident.EvStatus, Actor: actor, Message: msg,
			Data: map[string]any{"from": string(from), "to": string(to)}})
		return nil
	})
	if refused != nil {
		return refused
	}
	return err
}

func (s *Server) loadIncident(w http.ResponseWriter, r *http.Request) (incident.Incident, bool) {
	id := r.PathValue("id")
	inc, err := s.store.GetIncident(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no incident %q (list them with `ripcord incidents`)", id))
		return inc, false
	}
	if err != nil {
		s.internal(w, err)
		return inc, false
	}
	return inc, true
}
