package report

import (
	"context"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// context around the impact window that the metrics tables and charts show.
const (
	lookBefore = 5 * time.Minute
	lookAfter  = 5 * time.Minute
)

// Load gathers everything a report on incident id needs from the store.
// thresholds are the service's policy limits, for the "against thresholds"
// table and the chart lines.
func Load(ctx context.Context, st store.Store, id string, thresholds map[string]Threshold, now time.Time) (Input, error) {
	inc, err := st.GetIncident(ctx, id)
	if err != nil {
		return Input{}, fmt.Errorf("report: %w", err)
	}
	in := Input{Incident: inc, Thresholds: thresholds, GeneratedAt: now}
	ds, err := st.ListDecisions(ctx, inc.Service, 1000)
	if err != nil {
		return Input{}, fmt.Errorf("report: decisions: %w", err)
	}
	for i := len(ds) - 1; i >= 0; i-- { // newest first → oldest first
		if ds[i].IncidentID == id {
			in.Decisions = append(in.Decisions, ds[i])
		}
	}
	start, end := impactSpan(inc, now)
	deps, err := st.ListDeployments(ctx, inc.Service, 1000)
	if err != nil {
		return Input{}, fmt.Errorf("report: deployments: %w", err)
	}
	for i := len(deps) - 1; i >= 0; i-- {
		if d := deps[i]; !d.At.Before(start.Add(-24*time.Hour)) && !d.At.After(end) {
			in.Deployments = append(in.Deployments, d)
		}
	}
	if in.Metrics, err = st.Metrics(ctx, inc.Service, start.Add(-lookBefore), end.Add(lookAfter)); err != nil {
		return Input{}, fmt.Errorf("report: metrics: %w", err)
	}
	rollbacks, err := st.ListIncidents(ctx, store.IncidentFilter{Service: inc.Service, Kind: incident.KindRollback, Limit: 1000})
	if err != nil {
		return Input{}, fmt.Errorf("report: recent rollbacks: %w", err)
	}
	for _, r := range rollbacks {
		if !r.CreatedAt.After(inc.CreatedAt) && inc.CreatedAt.Sub(r.CreatedAt) <= 7*24*time.Hour {
			in.RecentRollbacks++
		}
	}
	return in, nil
}

// impactSpan is when the incident's impact started and when it ended (or now).
func impactSpan(inc incident.Incident, now time.Time) (time.Time, time.Time) {
	start := inc.ImpactStartedAt
	if start.IsZero() {
		start = inc.CreatedAt
	}
	for _, end := range []time.Time{inc.MitigatedAt, inc.ResolvedAt} {
		if !end.IsZero() {
			return start, end
		}
	}
	return start, now
}

// ThresholdsOf converts a policy's limits for the report.
func ThresholdsOf(p config.Policy) map[string]Threshold {
	out := make(map[string]Threshold, len(p.Thresholds))
	for m, t := range p.Thresholds {
		out[m] = Threshold{Max: t.Max, Min: t.Min, Critical: t.Critical}
	}
	return out
}
