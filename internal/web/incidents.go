package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/report"
	"github.com/ripcord/ripcord/internal/store"
)

type incidentRow struct {
	incident.Incident
	Open bool
}

func (s *Server) incidentRows(r *http.Request, service string, limit int) ([]incidentRow, error) {
	q := r.URL.Query()
	incs, err := s.store.ListIncidents(r.Context(), store.IncidentFilter{Service: service, OpenOnly: q.Get("open") == "true", Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]incidentRow, 0, len(incs))
	for _, inc := range incs {
		out = append(out, incidentRow{Incident: inc, Open: inc.Open()})
	}
	return out, nil
}

type incidentsData struct {
	Rows     []incidentRow
	Service  string
	OpenOnly bool
	Services []string
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) {
	svc := r.URL.Query().Get("service")
	rows, err := s.incidentRows(r, svc, 200)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, http.StatusOK, "incidents", page{Title: "Incidents", Nav: "incidents",
		Data: incidentsData{Rows: rows, Service: svc, OpenOnly: r.URL.Query().Get("open") == "true", Services: s.order}})
}

type incidentData struct {
	Incident incident.Incident
	Open     bool
	Notes    []incident.Event
	Report   string // the rendered post-incident report, a whole HTML document
	Acked    bool
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	inc, err := s.store.GetIncident(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "There is no incident "+id+".")
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	d := incidentData{Incident: inc, Open: inc.Open(), Acked: inc.Status != incident.Investigating}
	for _, ev := range inc.Events {
		if ev.Type == incident.EvNote {
			d.Notes = append(d.Notes, ev)
		}
	}
	var th map[string]report.Threshold
	if svc, ok := s.svcs[inc.Service]; ok {
		th = report.ThresholdsOf(svc.Policy())
	}
	in, err := report.Load(r.Context(), s.store, id, th, s.now())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	d.Report = string(report.Build(in).HTML())
	s.render(w, r, http.StatusOK, "incident", page{Title: inc.ID + " " + inc.Title, Nav: "incidents", Data: d})
}

// eventClass is a timeline row's style: rollbacks and failures stand out.
func eventClass(typ string) string {
	switch {
	case strings.HasPrefix(typ, "rollback"), typ == incident.EvFallback:
		return "ev-rollback"
	case typ == incident.EvEscalated, strings.HasSuffix(typ, "failed"):
		return "ev-bad"
	case typ == incident.EvNote, typ == incident.EvStatus:
		return "ev-person"
	}
	return ""
}
