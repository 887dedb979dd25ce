package api

import (
	"net/http"

	"github.com/ripcord/ripcord/internal/controller"
)

// AbortRequest is the body of POST /services/{name}/abort.
type AbortRequest struct {
	Reason string `json:"reason,omitempty"`
}

// promote skips a canary's remaining steps (operator).
func (s *Server) promote(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service) {
	if !decode(w, r, &struct{}{}) {
		return
	}
	if err := svc.Promote(r.Context(), actor); err != nil {
		s.commandError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, status(svc))
}

// abort sends a canary's traffic back to stable without marking it bad
// (operator); the reason goes on the decision trace.
func (s *Server) abort(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service) {
	var req AbortRequest
	if !decode(w, r, &req) {
		return
	}
	if err := svc.Abort(r.Context(), req.Reason, actor); err != nil {
		s.commandError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, status(svc))
}
