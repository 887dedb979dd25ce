package report

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// TestLoadFromAStore fills a real SQLite file with one incident's records
// and its neighbours' and checks Load picks exactly this incident's share:
// its decisions oldest first, the deployments of its service from a day
// before impact to its end, metric points from five minutes before to five
// after, and the service's rollbacks of the last seven days.
func TestLoadFromAStore(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ripcord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := deployAt
	mk := func(service string, kind incident.Kind, created time.Time) string {
		t.Helper()
		id, err := st.CreateIncident(ctx, incident.Incident{Service: service, Kind: kind, Severity: incident.Major,
			Status: incident.Resolved, ImpactStartedAt: created, CreatedAt: created, MitigatedAt: created.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	mk("checkout", incident.KindRollback, t0.Add(-8*24*time.Hour)) // too old to count
	mk("checkout", incident.KindRollback, t0.Add(-6*24*time.Hour))
	mk("checkout", incident.KindManual, t0.Add(-time.Hour)) // not an automatic rollback
	mk("web", incident.KindRollback, t0.Add(-time.Hour))    // another service
	id, err := st.CreateIncident(ctx, incident.Incident{Service: "checkout", Kind: incident.KindRollback, Severity: incident.Major,
		Status: incident.Monitoring, FromVersion: "v2", ToVersion: "v1", ImpactStartedAt: t0, CreatedAt: t0.Add(time.Second),
		MitigatedAt: t0.Add(10 * time.Second),
		Events:      []incident.Event{{At: t0.Add(time.Second), Type: incident.EvOpened, Actor: "ripcord", Message: "opened"}}})
	if err != nil {
		t.Fatal(err)
	}
	mk("checkout", incident.KindRollback, t0.Add(time.Hour)) // created after: not "recent" for this one

	var mine []int64
	for i, d := range []store.Decision{
		{Service: "checkout", Action: "rollback", IncidentID: id, CreatedAt: t0.Add(time.Second)},
		{Service: "checkout", Action: "rollback", IncidentID: "INC-0001", CreatedAt: t0},
		{Service: "web", Action: "rollback", IncidentID: id, CreatedAt: t0},
		{Service: "checkout", Action: "fallback", IncidentID: id, CreatedAt: t0.Add(2 * time.Second)},
	} {
		did, err := st.RecordDecision(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || i == 3 {
			mine = append(mine, did)
		}
	}
	for _, d := range []struct {
		version string
		at      time.Time
	}{
		{"v0", t0.Add(-25 * time.Hour)}, // more than a day before: left out
		{"v1", t0.Add(-23 * time.Hour)},
		{"v2", t0},
		{"v3", t0.Add(11 * time.Second)}, // after the end: left out
	} {
		if _, err := st.RecordDeployment(ctx, store.Deployment{Service: "checkout", Version: d.version, At: d.at}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordDeployment(ctx, store.Deployment{Service: "web", Version: "v9", At: t0}); err != nil {
		t.Fatal(err)
	}
	var pts []store.MetricPoint
	for _, off := range []time.Duration{-301 * time.Second, -300 * time.Second, 0, 5 * time.Minute, 5*time.Minute + 10*time.Second, 5*time.Minute + 11*time.Second} {
		pts = append(pts, store.MetricPoint{Service: "checkout", Version: "v1", At: t0.Add(off), Requests: 1})
	}
	pts = append(pts, store.MetricPoint{Service: "web", Version: "v1", At: t0, Requests: 1})
	if err := st.RecordMetrics(ctx, pts); err != nil {
		t.Fatal(err)
	}

	th := map[string]Threshold{"error_rate": {Max: ptr(0.05)}}
	now := t0.Add(time.Hour)
	in, err := Load(ctx, st, id, th, now)
	if err != nil {
		t.Fatal(err)
	}
	if in.Incident.ID != id || len(in.Incident.Events) != 1 || !in.GeneratedAt.Equal(now) || in.Thresholds["error_rate"].Max == nil {
		t.Errorf("incident %s with %d events, generated %v, thresholds %v", in.Incident.ID, len(in.Incident.Events), in.GeneratedAt, in.Thresholds)
	}
	var gotDec []int64
	for _, d := range in.Decisions {
		gotDec = append(gotDec, d.ID)
	}
	if !slices.Equal(gotDec, mine) {
		t.Errorf("decisions %v, want this incident's %v oldest first", gotDec, mine)
	}
	var vers []string
	for _, d := range in.Deployments {
		vers = append(vers, d.Version)
	}
	if !slices.Equal(vers, []string{"v1", "v2"}) {
		t.Errorf("deployments %v, want [v1 v2] oldest first", vers)
	}
	if len(in.Metrics) != 4 || !in.Metrics[0].At.Equal(t0.Add(-300*time.Second)) || !in.Metrics[3].At.Equal(t0.Add(5*time.Minute+10*time.Second)) {
		t.Errorf("metrics %+v, want the 4 points from T-5m to mitigation+5m", in.Metrics)
	}
	if in.RecentRollbacks != 2 {
		t.Errorf("recent rollbacks = %d, want 2 (this one and the one 6 days before)", in.RecentRollbacks)
	}
	// The loaded input builds and renders.
	md := string(Build(in).Markdown())
	if !strings.Contains(md, "# "+id) {
		t.Errorf("report of the loaded input:\n%.300s", md)
	}
}

// TestLoadOngoingUsesNow: without mitigation or resolution the window runs
// to now, so the points up to now+5m are read.
func TestLoadOngoingUsesNow(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.CreateIncident(ctx, incident.Incident{Service: "api", Kind: incident.KindBlind, CreatedAt: deployAt})
	if err != nil {
		t.Fatal(err)
	}
	now := deployAt.Add(time.Hour)
	if err := st.RecordMetrics(ctx, []store.MetricPoint{
		{Service: "api", Version: "v1", At: deployAt.Add(-time.Minute), Requests: 1},
		{Service: "api", Version: "v1", At: now.Add(4 * time.Minute), Requests: 1},
		{Service: "api", Version: "v1", At: now.Add(6 * time.Minute), Requests: 1},
	}); err != nil {
		t.Fatal(err)
	}
	in, err := Load(ctx, st, id, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Metrics) != 2 {
		t.Errorf("%d points, want the 2 within [created-5m, now+5m]", len(in.Metrics))
	}
	if in.RecentRollbacks != 0 {
		t.Errorf("a blind incident counted %d rollbacks", in.RecentRollbacks)
	}
	if r := Build(in); !r.Impact.Ongoing || !r.Impact.End.Equal(now) {
		t.Errorf("impact = %+v, want ongoing until now", r.Impact)
	}
}

func TestLoadUnknownIncident(t *testing.T) {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = Load(t.Context(), st, "INC-0404", nil, deployAt)
	if !errors.Is(err, store.ErrNotFound) || !strings.HasPrefix(err.Error(), "report: ") {
		t.Errorf("Load(unknown) = %v, want a report: error wrapping ErrNotFound", err)
	}
}

func TestThresholdsOf(t *testing.T) {
	p := config.DefaultPolicy()
	th := ThresholdsOf(p)
	if len(th) != len(p.Thresholds) {
		t.Fatalf("%d thresholds, want %d", len(th), len(p.Thresholds))
	}
	for m, want := range p.Thresholds {
		got := th[m]
		for name, pair := range map[string][2]*float64{"max": {got.Max, want.Max}, "min": {got.Min, want.Min}, "critical": {got.Critical, want.Critical}} {
			if (pair[0] == nil) != (pair[1] == nil) || (pair[0] != nil && *pair[0] != *pair[1]) {
				t.Errorf("%s %s = %v, want %v", m, name, pair[0], pair[1])
			}
		}
	}
	if len(ThresholdsOf(config.Policy{})) != 0 {
		t.Error("a policy without thresholds gave some")
	}
}
