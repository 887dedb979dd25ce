package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/ha"
	"github.com/ripcord/ripcord/internal/signal/push"
	"github.com/ripcord/ripcord/internal/store"
)

// Options wires a Server.
type Options struct {
	Services []*controller.Service
	Store    store.Store
	Push     *push.Store
	Tokens   []config.Token
	Metrics  http.Handler // /metrics; nil = 404
	Logger   *slog.Logger
	Now      func() time.Time
	// Notify is called after a person changes an incident, so channels hear
	// of it at once; nil is fine.
	Notify func()
	// Listeners returns the addresses ripcord's own API and proxies are
	// bound to, so a deploy cannot point a version at them; nil = none.
	Listeners func() []netip.AddrPort
	// Web serves every path outside /api/v1/, /healthz and /metrics (the
	// dashboard); nil = a JSON 404 there too.
	Web http.Handler
	// HA reports the replicas and who acts for each shard (config ha);
	// nil for a single replica.
	HA func() ha.Status
}

// Server serves the API.
type Server struct {
	svcs    map[string]*controller.Service
	order   []string
	pos     map[string]int // by name: the position in order (paging's cursor)
	store   store.Store
	push    *push.Store
	tokens  []config.Token
	metrics http.Handler
	log     *slog.Logger
	now     func() time.Time
	notify  func()
	bound   func() []netip.AddrPort
	ha      func() ha.Status
	web     http.Handler
}

func (s *Server) wake() {
	if s.notify != nil {
		s.notify()
	}
}

// New builds a Server.
func New(o Options) *Server {
	s := &Server{svcs: map[string]*controller.Service{}, pos: map[string]int{}, store: o.Store, push: o.Push, tokens: o.Tokens,
		metrics: o.Metrics, log: o.Logger, now: o.Now, notify: o.Notify, bound: o.Listeners, web: o.Web, ha: o.HA}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.bound == nil {
		s.bound = func() []netip.AddrPort { return nil }
	}
	for _, svc := range o.Services {
		s.svcs[svc.Name()] = svc
		s.pos[svc.Name()] = len(s.order)
		s.order = append(s.order, svc.Name())
	}
	return s
}

// Handler returns the routed API behind the cross-site guard.
func (s *Server) Handler() http.Handler { return guard(s.routes()) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics)
	}
	v, op := config.RoleViewer, config.RoleOperator
	mux.HandleFunc("GET /api/v1/services", s.require(v, s.listServices))
	mux.HandleFunc("GET /api/v1/services/{name}", s.require(v, s.withService(s.getService)))
	mux.HandleFunc("GET /api/v1/services/{name}/decisions", s.require(v, s.withService(s.listDecisions)))
	mux.HandleFunc("POST /api/v1/services/{name}/deploy", s.require(op, s.withService(s.deploy)))
	mux.HandleFunc("POST /api/v1/services/{name}/rollback", s.require(op, s.withService(s.rollback)))
	mux.HandleFunc("POST /api/v1/services/{name}/pause", s.require(op, s.withService(s.pause)))
	mux.HandleFunc("POST /api/v1/services/{name}/resume", s.require(op, s.withService(s.resume)))
	mux.HandleFunc("POST /api/v1/services/{name}/promote", s.require(op, s.withService(s.promote)))
	mux.HandleFunc("POST /api/v1/services/{name}/abort", s.require(op, s.withService(s.abort)))
	mux.HandleFunc("POST /api/v1/services/{name}/drill", s.require(op, s.withService(s.drill)))
	mux.HandleFunc("POST /api/v1/services/{name}/signals", s.require(op, s.withService(s.pushSignals)))
	mux.HandleFunc("GET /api/v1/ha", s.require(v, s.haStatus))
	mux.HandleFunc("GET /api/v1/incidents", s.require(v, s.listIncidents))
	mux.HandleFunc("GET /api/v1/incidents/{id}", s.require(v, s.getIncident))
	mux.HandleFunc("GET /api/v1/incidents/{id}/report", s.require(v, s.getReport))
	mux.HandleFunc("POST /api/v1/incidents/{id}/notes", s.require(op, s.addNote))
	mux.HandleFunc("POST /api/v1/incidents/{id}/status", s.require(op, s.setStatus))
	mux.HandleFunc("POST /api/v1/incidents/{id}/resolve", s.require(op, s.resolve))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
	}
	mux.HandleFunc("/api/", notFound)
	if s.web != nil {
		mux.Handle("/", s.web)
	} else {
		mux.HandleFunc("/", notFound)
	}
	return mux
}

type svcHandler func(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service)

func (s *Server) withService(h svcHandler) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, actor string) {
		name := r.PathValue("name")
		svc, ok := s.svcs[name]
		if !ok {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no service %.80q (%s)", name, s.known()))
			return
		}
		h(w, r, actor, svc)
	}
}

// known names the services for a 404: all of a small fleet, a few and
// how to search among a large one (10,000 names made a 100 KB error).
func (s *Server) known() string {
	const show = 10
	if len(s.order) <= show {
		return "known: " + strings.Join(s.order, ", ")
	}
	return fmt.Sprintf("known: %s and %d more; search with GET /api/v1/services?q=PART", strings.Join(s.order[:show], ", "), len(s.order)-show)
}

// status is a service's status as the API shows it, to every role: version
// URLs with their passwords and query values masked.
func status(svc *controller.Service) controller.Status {
	st := svc.Status()
	st.Versions = store.RedactedVersions(st.Versions)
	return st
}

// haStatus is the replicas and who acts for each shard.
func (s *Server) haStatus(w http.ResponseWriter, _ *http.Request, _ string) {
	if s.ha == nil {
		writeError(w, http.StatusNotFound, "not_ha", "this ripcord runs as a single replica (no ha block in its config)")
		return
	}
	writeJSON(w, http.StatusOK, s.ha())
}

func (s *Server) getService(w http.ResponseWriter, _ *http.Request, _ string, svc *controller.Service) {
	writeJSON(w, http.StatusOK, status(svc))
}

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request, _ string, svc *controller.Service) {
	ds, err := s.store.ListDecisions(r.Context(), svc.Name(), intParam(r, "limit", 50))
	if err != nil {
		s.internal(w, err)
		return
	}
	if ds == nil {
		ds = []store.Decision{} // [], not null, as for incidents: jq '.[]' fails on null
	}
	writeJSON(w, http.StatusOK, ds)
}

// DeployRequest is the body of POST /services/{name}/deploy.
type DeployRequest struct {
	Version string `json:"version"`
	URL     string `json:"url,omitempty"`
}

func (s *Server) deploy(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service) {
	var req DeployRequest
	if !decode(w, r, &req) {
		return
	}
	if err := config.CheckVersionName(req.Version); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "version: "+err.Error())
		return
	}
	if req.URL != "" {
		if err := CheckUpstream(r.Context(), req.URL, s.bound()); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
	}
	if err := svc.Deploy(r.Context(), req.Version, req.URL, actor); err != nil {
		s.commandError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, status(svc))
}

// RollbackRequest is the body of POST /services/{name}/rollback.
type RollbackRequest struct {
	To     string `json:"to,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// RollbackResponse names the incident the rollback opened.
type RollbackResponse struct {
	IncidentID string            `json:"incident_id"`
	Service    controller.Status `json:"service"`
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service) {
	var req RollbackRequest
	if !decode(w, r, &req) {
		return
	}
	id, err := svc.Rollback(r.Context(), req.To, req.Reason, actor)
	if err != nil {
		s.commandError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RollbackResponse{IncidentID: id, Service: status(svc)})
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service) {
	if err := svc.Pause(r.Context(), actor); err != nil {
		s.commandError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, status(svc))
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request, actor string, svc *controller.Service) {
	if err := svc.Resume(r.Context(), actor); err != nil {
		s.commandError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, status(svc))
}

// SignalsRequest is the body of POST /services/{name}/signals.
type SignalsRequest struct {
	Version string             `json:"version"`
	Values  map[string]float64 `json:"values"`
	Samples int64              `json:"samples"`
}

func (s *Server) pushSignals(w http.ResponseWriter, r *http.Request, _ string, svc *controller.Service) {
	var req SignalsRequest
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.Version == "":
		writeError(w, http.StatusBadRequest, "bad_request", "version: required (which version the values describe)")
		return
	case len(req.Values) == 0:
		writeError(w, http.StatusBadRequest, "bad_request", `values: required, e.g. {"quality_score": 0.91}`)
		return
	}
	// Only the service's versions: every other name would be a new series
	// kept in memory for nothing.
	var names []string
	for _, v := range svc.Status().Versions {
		names = append(names, v.Name)
	}
	if !slices.Contains(names, req.Version) {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("version: %.80q is not a version of %s; push for one of: %s",
			req.Version, svc.Name(), strings.Join(names, ", ")))
		return
	}
	if err := s.push.Push(svc.Name(), req.Version, req.Values, req.Samples, s.now()); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": len(req.Values)})
}

func (s *Server) commandError(w http.ResponseWriter, err error) {
	// ErrConflict: the service's state (a revert in flight, named in the
	// message) refuses the command for now.
	if errors.Is(err, controller.ErrInvalid) || errors.Is(err, controller.ErrConflict) {
		writeError(w, http.StatusConflict, "conflict", err.Error())
		return
	}
	s.internal(w, err)
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	s.log.Error("api request failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", err.Error())
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: "+err.Error())
		return false
	}
	// One JSON value, nothing after it: trailing bytes are a client bug
	// (two bodies concatenated) whose second half would be silently lost.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: one JSON value expected, found more after it")
		return false
	}
	return true
}

// writeJSON encodes v before sending the status, so a value that cannot be
// encoded (a NaN) is a 500 naming the problem instead of a 200 with an
// empty body that every client fails to decode.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		slog.Error("api response not encodable", "err", err)
		body, status = []byte(`{"error":"internal: response not encodable: `+jsonEscape(err.Error())+`","code":"internal"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// jsonEscape makes s safe inside a JSON string literal.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, Error{Error: msg, Code: code})
}

// maxLimit caps ?limit=: one answer stays a page, not the whole store.
const maxLimit = 1000

func intParam(r *http.Request, name string, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil && n > 0 {
		return min(n, maxLimit)
	}
	return def
}
