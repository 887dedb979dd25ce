package report

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// deployAt is T of the fixture: v2 of checkout goes live.
var deployAt = time.Date(2026, 3, 14, 9, 26, 53, 120e6, time.UTC)

func at(d time.Duration) time.Time { return deployAt.Add(d) }

func ptr(v float64) *float64 { return &v }

// fixture is a realistic automatic rollback: v2 of checkout deployed at T
// fails half its requests; ripcord detects it at T+0.35s, has traffic back
// on v1 at T+0.36s and verifies v1 at T+10.4s. Points are recorded every
// second at .500, so the second ending T+0.38s holds v1 before the deploy,
// v2, and v1 again after the switch; two v2 requests in flight at the
// switch complete in the next second.
func fixture(t testing.TB) Input {
	t.Helper()
	inc := incident.Incident{
		ID: "INC-0042", Service: "checkout", Kind: incident.KindRollback, Severity: incident.Major,
		Status: incident.Monitoring, Title: "checkout: automatic rollback v2 → v1",
		Reason:      "error_rate 50.5% > critical 20.0% (105 requests, window 0.3s); latency_p99_ms 1450ms > 800ms (105 requests, window 0.3s)",
		FromVersion: "v2", ToVersion: "v1",
		ImpactStartedAt: at(0), DetectedAt: at(350 * time.Millisecond), RollbackStartedAt: at(351 * time.Millisecond),
		MitigatedAt: at(10400 * time.Millisecond), CreatedAt: at(350 * time.Millisecond), UpdatedAt: at(10400 * time.Millisecond),
		Events: fixtureEvents(),
	}
	return Input{
		Incident: storeRoundTrip(t, inc),
		Decisions: []store.Decision{{
			ID: 17, Service: "checkout", Action: "rollback", FromVersion: "v2", ToVersion: "v1",
			Reason: inc.Reason, IncidentID: "INC-0042", Status: store.DecisionDone, Result: "switched v2 → v1 in 8ms",
			Snapshot: map[string]float64{"error_rate": 0.505, "latency_p99_ms": 1450, "samples": 105,
				"baseline.error_rate": 0.0011, "baseline.latency_p99_ms": 183},
			CreatedAt: at(350 * time.Millisecond), DoneAt: at(360 * time.Millisecond),
		}},
		Deployments: []store.Deployment{
			{ID: 40, Service: "checkout", Version: "v1", URL: "http://checkout-v1.internal:8080", Actor: "bob", At: time.Date(2026, 3, 12, 14, 2, 11, 0, time.UTC)},
			{ID: 41, Service: "checkout", Version: "v2", URL: "http://checkout-v2.internal:8080", Actor: "alice", At: at(0)},
		},
		Metrics: fixtureMetrics(),
		Thresholds: map[string]Threshold{
			"error_rate":     {Max: ptr(0.05), Critical: ptr(0.20)},
			"latency_p99_ms": {Max: ptr(800)},
		},
		RecentRollbacks: 3,
		ChangeCauses:    map[string]string{"v2": "Read discount codes at checkout (PR #1842)"},
		GeneratedAt:     at(5*time.Minute + 17*time.Second),
	}
}

func fixtureEvents() []incident.Event {
	findings := []detect.Finding{
		{Metric: "error_rate", Value: 0.505, Samples: 105, Limit: 0.20, Anomalous: true, Critical: true,
			Text: "error_rate 50.5% > critical 20.0% (105 requests, window 0.3s)"},
		{Metric: "latency_p99_ms", Value: 1450, Samples: 105, Limit: 800, Anomalous: true,
			Text: "latency_p99_ms 1450ms > 800ms (105 requests, window 0.3s)"},
		{Metric: "latency_p50_ms", Value: 95, Samples: 105, Text: "latency_p50_ms 95ms ok (105 requests, window 0.3s)"},
	}
	ms := func(n int) time.Time { return at(time.Duration(n) * time.Millisecond) }
	return []incident.Event{
		{At: ms(350), Type: incident.EvOpened, Actor: "ripcord", Message: "major incident opened (rollback): checkout: automatic rollback v2 → v1"},
		{At: ms(350), Type: incident.EvDetected, Actor: "ripcord", Message: findings[0].Text + "; " + findings[1].Text,
			Data: map[string]any{"findings": findings}},
		{At: ms(351), Type: incident.EvRollbackStarted, Actor: "ripcord", Message: "switching v2 → v1"},
		{At: ms(360), Type: incident.EvRollbackDone, Actor: "ripcord", Message: "traffic on v1 (switch took 8.2ms); verifying for 10s",
			Data: map[string]any{"from": "v2", "to": "v1", "switch_ns": int64(8_200_000)}},
		{At: ms(360), Type: incident.EvStatus, Actor: "ripcord", Message: "status investigating → identified",
			Data: map[string]any{"from": "investigating", "to": "identified"}},
		{At: ms(812), Type: incident.EvNotified, Actor: "ripcord", Message: "slack: opened delivered (attempt 1)",
			Data: map[string]any{"channel": "slack", "seq": 1}},
		{At: ms(4630), Type: incident.EvNotifyFailed, Actor: "ripcord",
			Message: "pagerduty: opened failing, still retrying: pagerduty: 429 Too Many Requests",
			Data:    map[string]any{"channel": "pagerduty", "seq": 1}},
		{At: ms(10400), Type: incident.EvVerified, Actor: "ripcord", Message: "v1 healthy for 10s after rollback",
			Data: map[string]any{"snapshot": map[string]float64{"error_rate": 0.0012, "latency_p99_ms": 241, "samples": 3012}}},
		{At: ms(10400), Type: incident.EvStatus, Actor: "ripcord", Message: "status identified → monitoring",
			Data: map[string]any{"from": "identified", "to": "monitoring"}},
		{At: ms(131_880), Type: incident.EvNote, Actor: "alice",
			Message: "v2 reads orders.discount_code before the migration that adds it has run; holding v2 until the migration job is fixed."},
	}
}

// fixtureMetrics: v1 at ~300 req/s and ~0.3% errors for five minutes, one
// second shared by v1 and v2 (v2 at ~50% errors and 1.45 s p99), two late
// v2 completions, then v1 with a short cold-cache p99 bump.
func fixtureMetrics() []store.MetricPoint {
	var pts []store.MetricPoint
	v1 := func(at time.Time, i, req int, p99 float64) store.MetricPoint {
		return store.MetricPoint{Service: "checkout", Version: "v1", At: at, Requests: int64(req),
			Errors: int64(i % 3 / 2), P50Ms: 41 + float64(i%5), P99Ms: p99 + float64(i%7)}
	}
	first := at(-300*time.Second + 380*time.Millisecond) // T-4m59.62s, at .500
	for i := 0; i < 300; i++ {
		pts = append(pts, v1(first.Add(time.Duration(i)*time.Second), i, 296+i%9, 178))
	}
	bad := at(380 * time.Millisecond) // the second (T-0.62s, T+0.38s]
	pts = append(pts, v1(bad, 300, 189, 176),
		store.MetricPoint{Service: "checkout", Version: "v2", At: bad, Requests: 105, Errors: 53, P50Ms: 95, P99Ms: 1450})
	for i := 1; i <= 310; i++ {
		p99 := 178.0
		if i <= 6 {
			p99 = 260 - float64(i)*12 // cold caches on v1 right after the switch
		}
		pts = append(pts, v1(bad.Add(time.Duration(i)*time.Second), 300+i, 297+i%7, p99))
	}
	pts = append(pts, store.MetricPoint{Service: "checkout", Version: "v2", At: bad.Add(time.Second), Requests: 2, Errors: 1, P50Ms: 880, P99Ms: 1410})
	return pts
}

// storeRoundTrip gives the incident the shape it has after the store: event
// Data as generic JSON.
func storeRoundTrip(t testing.TB, inc incident.Incident) incident.Incident {
	t.Helper()
	b, err := json.Marshal(inc)
	if err != nil {
		t.Fatal(err)
	}
	var out incident.Incident
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
