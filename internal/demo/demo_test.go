package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert/proxyswitch"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/push"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// TestRunRefusesBadOptionsBeforeStartingAnything: a bad fault or rate is
// an error naming the flag and the allowed values, with the fault echoed
// in the result.
func TestRunRefusesBadOptionsBeforeStartingAnything(t *testing.T) {
	for _, tc := range []struct {
		o   Options
		msg string
	}{
		{Options{Fault: "slow", Rate: 200}, `demo: --fault "slow": use one of [error latency quality none]`},
		{Options{Fault: "", Rate: 200}, `demo: --fault "": use one of`},
		{Options{Fault: FaultError, Rate: 0}, "demo: --rate 0: use 1..20000 requests per second"},
		{Options{Fault: FaultError, Rate: -5}, "demo: --rate -5: use 1..20000"},
		{Options{Fault: FaultNone, Rate: 20001}, "demo: --rate 20001: use 1..20000"},
	} {
		res, err := Run(t.Context(), tc.o)
		if err == nil || !strings.HasPrefix(err.Error(), tc.msg) || res.Fault != tc.o.Fault || res.Rate != tc.o.Rate {
			t.Errorf("%+v: %v, %+v", tc.o, err, res)
		}
	}
}

// TestConfigIsValid: the demo's daemon config, with the defaults a file
// gets, passes the same validation a user's file does, binds only loopback, and has the p50 bound the
// package doc promises; --keep moves the API to the CLI's default address.
func TestConfigIsValid(t *testing.T) {
	for _, keep := range []bool{false, true} {
		cfg := Config("http://127.0.0.1:9001", "/tmp/x/ripcord.db", keep)
		checked := *Config("http://127.0.0.1:9001", "/tmp/x/ripcord.db", keep)
		checked.ApplyDefaults() // as Load does for a file
		if err := checked.Validate(); err != nil {
			t.Fatalf("keep=%v: %v", keep, err)
		}
		want := map[bool]string{false: "127.0.0.1:0", true: "127.0.0.1:7070"}[keep]
		s := cfg.Services[0]
		if cfg.API.Listen != want || s.Proxy.Listen != "127.0.0.1:0" || s.Name != service || s.Active != "v1" ||
			len(s.Versions) != 1 || s.Versions[0].URL != "http://127.0.0.1:9001" || cfg.Store.URL != "sqlite:///tmp/x/ripcord.db" {
			t.Fatalf("keep=%v: %+v", keep, cfg)
		}
		p50, p99 := s.Policy.Thresholds["latency_p50_ms"], s.Policy.Thresholds["latency_p99_ms"]
		if p50.Max == nil || *p50.Max != 400 || p99.Max == nil || *p99.Max != 1000 || p99.Critical == nil || *p99.Critical != 5000 {
			t.Fatalf("latency thresholds %+v %+v", p50, p99)
		}
		if _, ok := config.DefaultPolicy().Thresholds["latency_p50_ms"]; ok {
			t.Fatal("the demo's thresholds leaked into the default policy")
		}
	}
}

func TestResultMatchesJSONAndSummary(t *testing.T) {
	rolled := Result{Fault: FaultLatency, RolledBack: true, DetectSeconds: 0.25, RevertSeconds: 0.31, BadRequests: 10,
		TotalRequests: 400, ServedByBad: 60, IncidentID: "INC-0001", Reason: "latency_p99_ms 1500 > 1000", Rate: 200}
	for _, tc := range []struct {
		r       Result
		matches bool
		summary []string
	}{
		{rolled, true, []string{"Rolled back v2 → v1 0.31 s after the deploy (bad verdict confirmed at 0.25 s).",
			"Why: latency_p99_ms 1500 > 1000", "Requests: 400 sent, 10 failed (2.5%), 60 served by v2.", "Incident INC-0001 records"}},
		{Result{Fault: FaultNone, TotalRequests: 100}, true, []string{"v2 was healthy and stayed live: no rollback, as it should be.",
			"Requests: 100 sent, 0 failed (0.0%), 0 served by v2."}},
		{Result{Fault: FaultError}, false, []string{"v2 had a error fault and was NOT rolled back.", "Requests: 0 sent, 0 failed (0.0%)"}},
		{Result{Fault: FaultNone, RolledBack: true, IncidentID: "INC-2"}, false, []string{"Rolled back"}},
	} {
		if tc.r.Matches() != tc.matches {
			t.Errorf("%+v: Matches %v", tc.r, !tc.matches)
		}
		var b bytes.Buffer
		tc.r.Summary(&b)
		for _, s := range tc.summary {
			if !strings.Contains(b.String(), s) {
				t.Errorf("summary lacks %q:\n%s", s, b.String())
			}
		}
		if tc.r.IncidentID == "" && strings.Contains(b.String(), "Incident") {
			t.Errorf("summary names no incident yet says:\n%s", b.String())
		}
	}
	// bench/ parses these names: they must not change.
	var m map[string]any
	if err := json.Unmarshal([]byte(rolled.JSON()), &m); err != nil || strings.Contains(rolled.JSON(), "\n") {
		t.Fatalf("JSON %q: %v", rolled.JSON(), err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, ","); got != "bad_requests,detect_seconds,fault,incident_id,rate,reason,revert_seconds,rolled_back,served_by_bad,total_requests" {
		t.Fatalf("JSON keys %s", got)
	}
	if strings.Contains(Result{Fault: FaultNone}.JSON(), "reason") {
		t.Fatal("an empty reason is in the JSON")
	}
}

func TestDBFile(t *testing.T) {
	path, cleanup, err := dbFile("")
	if err != nil || filepath.Base(path) != "ripcord.db" {
		t.Fatalf("%q %v", path, err)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || !strings.HasPrefix(filepath.Base(dir), "ripcord-demo-") {
		t.Fatalf("temp dir %s: %v", dir, err)
	}
	cleanup()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cleanup left %s: %v", dir, err)
	}
	keep := filepath.Join(t.TempDir(), "mine.db")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	path, cleanup, err = dbFile(keep)
	cleanup()
	if err != nil || path != keep {
		t.Fatalf("%q %v", path, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("cleanup removed the user's --db: %v", err)
	}
}

// demoAPI is a real API for the demo's service: a controller on an
// in-memory store with a real switch, v1 and v2 registered, and the push
// store the pipeline writes to.
type demoAPI struct {
	client *apiclient.Client
	store  store.Store
	push   *push.Store
	url    string
}

func newDemoAPI(t *testing.T) *demoAPI {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(b.Close)
	sw := proxy.New(proxy.Options{Service: service})
	t.Cleanup(func() { _ = sw.Close() })
	cfg := Config(b.URL, "", false).Services[0]
	cfg.Versions = append(cfg.Versions, config.Version{Name: "v2", URL: b.URL})
	svc := controller.New(cfg, controller.Deps{Store: st, Target: proxyswitch.New(sw), Router: sw})
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	d := &demoAPI{store: st, push: push.New(time.Minute)}
	srv := httptest.NewServer(api.New(api.Options{Services: []*controller.Service{svc}, Store: st, Push: d.push,
		Tokens: []config.Token{{Name: "local", Role: config.RoleAdmin, Value: "demo-test"}}}).Handler())
	t.Cleanup(srv.Close)
	d.url, d.client = srv.URL, apiclient.New(srv.URL, "demo-test")
	return d
}

// rollbackIncident stores a finished automatic rollback opened at opened
// whose revert completed after done.
func (d *demoAPI) rollbackIncident(t *testing.T, kind incident.Kind, opened time.Time, done time.Duration) string {
	t.Helper()
	evs := []incident.Event{{At: opened, Type: incident.EvOpened, Actor: "ripcord"}}
	if done > 0 {
		evs = append(evs, incident.Event{At: opened.Add(done), Type: incident.EvRollbackDone, Actor: "ripcord"})
	}
	id, err := d.store.CreateIncident(t.Context(), incident.Incident{Service: service, Kind: kind, Severity: incident.Major,
		Status: incident.Identified, Title: "t", Reason: string(kind) + " reason", CreatedAt: opened, UpdatedAt: opened,
		DetectedAt: opened, Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestOutcomeReadsTheRollbackFromTheAPI: the result is the rollback
// incident opened after the deploy — its ID, reason, detection and revert
// times relative to the deploy; other kinds of incident, and incidents
// from before the deploy (an earlier run on the same --db), do not count.
func TestOutcomeReadsTheRollbackFromTheAPI(t *testing.T) {
	deploy := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		seed     func(d *demoAPI) string // returns the incident that should be reported
		rolled   bool
		detect   float64
		revert   float64
		reasonIs string
	}{
		{"none", func(*demoAPI) string { return "" }, false, 0, 0, ""},
		{"rollback", func(d *demoAPI) string {
			return d.rollbackIncident(t, incident.KindRollback, deploy.Add(1500*time.Millisecond), 250*time.Millisecond)
		}, true, 1.5, 1.75, "rollback reason"},
		{"manual only", func(d *demoAPI) string {
			d.rollbackIncident(t, incident.KindManual, deploy.Add(time.Second), time.Second)
			return ""
		}, false, 0, 0, ""},
		{"rollback not yet done", func(d *demoAPI) string {
			return d.rollbackIncident(t, incident.KindRollback, deploy.Add(time.Second), 0)
		}, false, 1, 0, "rollback reason"},
		{"earlier run on the same db", func(d *demoAPI) string {
			d.rollbackIncident(t, incident.KindRollback, deploy.Add(-time.Hour), time.Second)
			return ""
		}, false, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDemoAPI(t)
			want := tc.seed(d)
			res, err := outcome(t.Context(), d.client, deploy, Result{Fault: FaultError})
			if err != nil {
				t.Fatal(err)
			}
			if res.IncidentID != want || res.RolledBack != tc.rolled || res.DetectSeconds != tc.detect ||
				res.RevertSeconds != tc.revert || res.Reason != tc.reasonIs || res.Fault != FaultError {
				t.Fatalf("%+v, want incident %q rolled %v detect %v revert %v", res, want, tc.rolled, tc.detect, tc.revert)
			}
		})
	}
	dead := apiclient.New("http://127.0.0.1:1", "x")
	if _, err := outcome(t.Context(), dead, deploy, Result{}); err == nil {
		t.Fatal("outcome without an API succeeded")
	}
}

// TestLivePrintsOneLinePerTick: each line has the offset, the active
// version, the second's request rate, error share and p99, and the
// service's verdict and state; an unreachable API prints why; a cancelled
// context ends the view at once.
func TestLivePrintsOneLinePerTick(t *testing.T) {
	d := newDemoAPI(t)
	l := newLoad("http://unused", 1)
	l.sec = second{requests: 8, failed: 2, latencies: []time.Duration{3 * time.Millisecond, time.Millisecond}}
	var b bytes.Buffer
	live(t.Context(), &b, l, d.client, time.Now(), time.Millisecond)
	line := regexp.MustCompile(`^\s+\+\d+\.\ds  v1      8 req/s  errors  25\.0%  p99 \s*3ms  \S+\s+stable\s`)
	if !line.MatchString(b.String()) || strings.Count(b.String(), "\n") != 1 {
		t.Fatalf("live printed %q", b.String())
	}
	if s := l.takeSecond(); s.requests != 0 {
		t.Fatal("live did not take the second's bucket")
	}
	b.Reset()
	live(t.Context(), &b, l, apiclient.New("http://127.0.0.1:1", "x"), time.Now(), time.Millisecond)
	if !strings.HasPrefix(b.String(), "  status unavailable: ") {
		t.Fatalf("without an API: %q", b.String())
	}
	b.Reset()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	live(ctx, &b, l, d.client, time.Now(), time.Hour) // returns: the test would hang otherwise
	if b.Len() != 0 {
		t.Fatalf("a cancelled view printed %q", b.String())
	}
	b.Reset()
	live(t.Context(), &b, l, d.client, time.Now(), 0)
	if b.Len() != 0 {
		t.Fatalf("a zero-length view printed %q", b.String())
	}
}

// TestPipelinePushesScoresForTheLiveVersion: the stand-in evaluation
// pipeline scores whichever version is active, healthy unless the quality
// fault is on and v2 is live.
func TestPipelinePushesScoresForTheLiveVersion(t *testing.T) {
	for _, tc := range []struct {
		fault, active string
		lo, hi        float64
		toxic         float64
	}{
		{FaultQuality, "v1", 0.88, 0.94, 0.002},
		{FaultQuality, "v2", 0.55, 0.59, 0.03},
		{FaultError, "v2", 0.88, 0.94, 0.002},
	} {
		d := newDemoAPI(t)
		if tc.active != "v1" {
			if _, err := d.client.Deploy(t.Context(), service, tc.active, ""); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { pipeline(ctx, d.client, tc.fault); close(done) }()
		deadline := time.Now().Add(30 * time.Second)
		var q, tox signal.Sample
		for {
			now := time.Now()
			query := signal.Query{Service: service, Version: tc.active, Since: now.Add(-time.Minute), At: now.Add(time.Second)}
			query.Metric = signal.QualityScore
			q, _ = d.push.Read(t.Context(), query)
			query.Metric = signal.ToxicOutputRate
			tox, _ = d.push.Read(t.Context(), query)
			if q.Samples > 0 && tox.Samples > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s on %s: nothing pushed", tc.fault, tc.active)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		<-done
		if q.Value < tc.lo || q.Value > tc.hi || math.Abs(tox.Value-tc.toxic) > 1e-12 || q.Samples%40 != 0 {
			t.Errorf("%s on %s: quality %+v toxic %+v", tc.fault, tc.active, q, tox)
		}
		other := map[string]string{"v1": "v2", "v2": "v1"}[tc.active]
		if s, _ := d.push.Read(t.Context(), signal.Query{Service: service, Version: other, Metric: signal.QualityScore,
			Since: time.Now().Add(-time.Minute), At: time.Now()}); s.Samples != 0 {
			t.Errorf("%s on %s: scores pushed for %s too", tc.fault, tc.active, other)
		}
	}
}

// TestRunKeepsItsDBAndReportsOnlyItsOwnRun: with --db the store outlives
// the demo; a second run on it is judged on its own deploy, not on the
// first run's rollback.
func TestRunKeepsItsDBAndReportsOnlyItsOwnRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	first, err := Run(t.Context(), Options{Fault: FaultError, Rate: 200, Warmup: 300 * time.Millisecond, Watch: 2 * time.Second,
		DBPath: db, Out: &bytes.Buffer{}})
	if err != nil || !first.RolledBack || first.IncidentID == "" {
		t.Fatalf("first run: %+v %v", first, err)
	}
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := st.GetIncident(t.Context(), first.IncidentID)
	st.Close()
	if err != nil || inc.Kind != incident.KindRollback || inc.Service != service {
		t.Fatalf("the first run's incident in --db: %+v %v", inc, err)
	}
	var out bytes.Buffer
	second, err := Run(t.Context(), Options{Fault: FaultNone, Rate: 50, Watch: time.Millisecond, DBPath: db, Out: &out})
	if err != nil || second.RolledBack || second.IncidentID != "" || !second.Matches() {
		t.Fatalf("second run on the same db: %+v %v\n%s", second, err, out.String())
	}
}
