package web

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/chart"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/report"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/store"
)

// chartSpan and chartStep: the service page's charts show the last 15
// minutes at 5 s a point.
const (
	chartSpan  = 15 * time.Minute
	chartStep  = 5 * time.Second
	chartSteps = int(chartSpan / chartStep)
)

type figure struct {
	Title  string
	SVG    template.HTML
	Legend []chart.Tick
}

type serviceData struct {
	Status      controller.Status
	Decisions   []store.Decision
	Deployments []store.Deployment
	Charts      []figure
	Incidents   []incidentRow
	Targets     []string // versions a rollback may go to
}

func (s *Server) service(w http.ResponseWriter, r *http.Request) (*controller.Service, bool) {
	svc, ok := s.svcs[r.PathValue("name")]
	if !ok {
		s.fail(w, r, http.StatusNotFound, "There is no service "+r.PathValue("name")+".")
	}
	return svc, ok
}

func (s *Server) servicePage(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.service(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	st := svc.Status()
	st.Versions = store.RedactedVersions(st.Versions)
	d := serviceData{Status: st}
	var err error
	if d.Decisions, err = s.store.ListDecisions(ctx, st.Name, 50); err == nil {
		d.Deployments, err = s.store.ListDeployments(ctx, st.Name, 50)
	}
	if err == nil {
		d.Incidents, err = s.incidentRows(r, st.Name, 10)
	}
	now := s.now()
	if err == nil {
		d.Charts, err = s.charts(r, svc, d, now)
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	for _, v := range st.Versions {
		if v.Name != st.Active && !v.KnownBad {
			d.Targets = append(d.Targets, v.Name)
		}
	}
	s.render(w, r, http.StatusOK, "service", page{Title: st.Name, Nav: "services", Data: d})
}

// signalDef is one chart of the service page.
type signalDef struct {
	name, title string
	value       func(b bucket) (float64, bool)
	label       func(float64) string
}

var builtinSignals = []signalDef{
	{signal.ErrorRate, "Error rate", func(b bucket) (float64, bool) {
		return float64(b.errs) / float64(max(b.req, 1)), b.req > 0
	}, pct},
	{signal.LatencyP99, "p99 latency (ms)", func(b bucket) (float64, bool) { return b.p99, b.req > 0 }, num},
	{signal.Throughput, "Throughput (req/s)", func(b bucket) (float64, bool) {
		return float64(b.req) / chartStep.Seconds(), b.req > 0
	}, num},
}

// charts draws one chart per signal over the last 15 minutes, one line
// per version, with the policy's thresholds and the deploy, rollback and
// fallback markers in the span.
func (s *Server) charts(r *http.Request, svc *controller.Service, d serviceData, now time.Time) ([]figure, error) {
	from := now.Add(-chartSpan)
	pts, err := s.store.Metrics(r.Context(), svc.Name(), from, now)
	if err != nil {
		return nil, err
	}
	byVer := bucketize(pts, from, chartStep, chartSteps)
	var marks []chart.Marker
	for _, dp := range d.Deployments {
		if dp.At.After(from) {
			marks = append(marks, chart.Marker{At: dp.At, Label: "deploy " + dp.Version})
		}
	}
	for _, dc := range d.Decisions {
		if dc.CreatedAt.After(from) && dc.Action != "escalate" {
			marks = append(marks, chart.Marker{At: dc.CreatedAt, Label: strings.ReplaceAll(dc.Action, "_", " ")})
		}
	}
	slices.SortFunc(marks, func(a, b chart.Marker) int { return a.At.Compare(b.At) })
	th := report.ThresholdsOf(svc.Policy())
	defs := slices.Clone(builtinSignals)
	for _, k := range pushedKeys(byVer) {
		defs = append(defs, signalDef{k, k, func(b bucket) (float64, bool) {
			n := b.nvals[k]
			return b.vals[k] / float64(max(n, 1)), n > 0
		}, num})
	}
	var out []figure
	for _, def := range defs {
		var series []chart.Series
		for _, v := range versionOrder(byVer) {
			sr := chart.Series{Name: v}
			for i, b := range byVer[v] {
				val, ok := def.value(b)
				sr.Points = append(sr.Points, chart.Point{At: from.Add(time.Duration(i+1) * chartStep), V: val, OK: ok})
			}
			series = append(series, sr)
		}
		var limits []chart.Limit
		t := th[def.name]
		for _, l := range []struct {
			n string
			v *float64
		}{{"max", t.Max}, {"min", t.Min}, {"critical", t.Critical}} {
			if l.v != nil {
				limits = append(limits, chart.Limit{Name: l.n, V: *l.v})
			}
		}
		c := chart.Layout(chart.Spec{ID: def.name, Title: def.title, Series: series, Step: chartStep, From: from, To: now,
			Limits: limits, Markers: marks, Label: def.label})
		if c != nil {
			out = append(out, figure{Title: def.title, SVG: c.SVG(), Legend: c.Legend})
		}
	}
	return out, nil
}

func pushedKeys(m map[string][]bucket) []string {
	seen := map[string]bool{}
	for _, bs := range m {
		for _, b := range bs {
			for k := range b.vals {
				seen[k] = true
			}
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
