package api

import (
	"errors"
	"net/http"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/report"
	"github.com/ripcord/ripcord/internal/store"
)

// getReport renders the post-incident report fresh from the store:
// ?format=md (default) or html.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request, _ string) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "md"
	}
	if format != "md" && format != "html" {
		writeError(w, http.StatusBadRequest, "bad_request", "format: use md or html")
		return
	}
	id := r.PathValue("id")
	inc, err := s.store.GetIncident(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no incident "+id+" (list them with `ripcord incidents`)")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	var pol config.Policy
	if svc, ok := s.svcs[inc.Service]; ok {
		pol = svc.Policy()
	}
	in, err := report.Load(r.Context(), s.store, id, report.ThresholdsOf(pol), s.now())
	if err != nil {
		s.internal(w, err)
		return
	}
	rep := report.Build(in)
	if format == "html" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(rep.HTML())
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	_, _ = w.Write(rep.Markdown())
}
