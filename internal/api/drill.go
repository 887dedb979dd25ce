package api

import (
	"net/http"

	"github.com/ripcord/ripcord/internal/controller"
)

// DrillRequest is the body of POST /services/{name}/drill.
type DrillRequest struct {
	Fault string  `json:"fault,omitempty"` // error | latency | quality | stream; default drills.fault
	Share float64 `json:"share,omitempty"` // percent; default drills.share, at most 50
	// Shadow faults copies of live requests only, no user's (not with a
	// share).
	Shadow bool `json:"shadow,omitempty"`
}

// drill runs a drill of the service and answers its report when it ends
// (operator). A drill that ran and failed is a 200 with passed false; a
// drill refused before anything moved is a 409 saying why.
func (s *Server) drill(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service) {
	var req DrillRequest
	if !decode(w, r, &req) {
		return
	}
	rep, err := svc.Drill(r.Context(), controller.DrillRequest{Fault: req.Fault, Share: req.Share, Shadow: req.Shadow, Actor: actor})
	if err != nil {
		s.commandError(w, err)
		return
	}
	s.wake()
	writeJSON(w, http.StatusOK, rep)
}
