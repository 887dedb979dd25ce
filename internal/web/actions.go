package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// serviceAction runs deploy, rollback, promote, abort, pause or resume as the signed-in
// operator, through the controller (the API's path), and goes back to
// the page with a confirmation.
func (s *Server) serviceAction(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.service(w, r)
	if !ok {
		return
	}
	ctx, actor, f := r.Context(), userOf(r).Name, r.PostForm
	back := "/services/" + url.PathEscape(svc.Name())
	var err error
	switch action := r.PathValue("action"); action {
	case "rollback":
		var id string
		id, err = svc.Rollback(ctx, f.Get("to"), strings.TrimSpace(f.Get("reason")), actor)
		if err == nil {
			s.hub.wake()
			http.Redirect(w, r, "/incidents/"+url.PathEscape(id)+"?done=rollback", http.StatusSeeOther)
			return
		}
	case "deploy":
		version, u := strings.TrimSpace(f.Get("version")), strings.TrimSpace(f.Get("url"))
		if err = config.CheckVersionName(version); err != nil {
			s.fail(w, r, http.StatusBadRequest, "Version: "+err.Error())
			return
		}
		if u != "" {
			if err = api.CheckUpstream(ctx, u, s.listeners()); err != nil {
				s.fail(w, r, http.StatusBadRequest, err.Error())
				return
			}
		}
		err = svc.Deploy(ctx, version, u, actor)
	case "promote":
		err = svc.Promote(ctx, actor)
	case "abort":
		err = svc.Abort(ctx, strings.TrimSpace(f.Get("reason")), actor)
	case "pause":
		err = svc.Pause(ctx, actor)
	case "resume":
		err = svc.Resume(ctx, actor)
	default:
		s.fail(w, r, http.StatusNotFound, "There is no action "+action+".")
		return
	}
	if err != nil {
		s.commandError(w, r, err)
		return
	}
	s.hub.wake()
	http.Redirect(w, r, back+"?done="+r.PathValue("action"), http.StatusSeeOther)
}

func (s *Server) commandError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, controller.ErrInvalid) || errors.Is(err, controller.ErrConflict) {
		s.fail(w, r, http.StatusConflict, err.Error())
		return
	}
	s.log.Error("dashboard action failed", "err", err)
	s.fail(w, r, http.StatusInternalServerError, err.Error())
}

// incidentAction acknowledges (→ identified), resolves or notes an
// incident as the signed-in operator.
func (s *Server) incidentAction(w http.ResponseWriter, r *http.Request) {
	id, actor, note := r.PathValue("id"), userOf(r).Name, strings.TrimSpace(r.PostForm.Get("text"))
	var err error
	switch action := r.PathValue("action"); action {
	case "ack":
		err = api.ChangeStatus(r.Context(), s.store, id, actor, incident.Identified, note, s.now())
	case "resolve":
		err = api.ChangeStatus(r.Context(), s.store, id, actor, incident.Resolved, note, s.now())
	case "note":
		if note == "" {
			s.fail(w, r, http.StatusBadRequest, "A note needs some text.")
			return
		}
		if _, err = s.store.GetIncident(r.Context(), id); err == nil {
			err = s.store.AppendEvent(r.Context(), id, incident.Event{At: s.now(), Type: incident.EvNote, Actor: actor, Message: note})
		}
	default:
		s.fail(w, r, http.StatusNotFound, "There is no action "+action+".")
		return
	}
	var refused *api.RefusedError
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "There is no incident "+id+".")
		return
	case errors.As(err, &refused):
		s.fail(w, r, http.StatusConflict, refused.Error())
		return
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if s.notify != nil {
		s.notify()
	}
	s.hub.wake()
	http.Redirect(w, r, "/incidents/"+url.PathEscape(id)+"?done="+r.PathValue("action"), http.StatusSeeOther)
}
