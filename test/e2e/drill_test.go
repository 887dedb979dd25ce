package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

// llmBackend is a real HTTP server standing for an LLM service version: it
// answers with a quality score header and can be told to fail.
type llmBackend struct {
	name  string
	errPM atomic.Int64
	srv   *httptest.Server
}

func newLLMBackend(t *testing.T, name string) *llmBackend {
	b := &llmBackend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if rand.Int64N(1000) < b.errPM.Load() {
			http.Error(w, "injected", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Version", name)
		w.Header().Set("X-Quality-Score", "0.92")
		_, _ = io.WriteString(w, `{"answer":"forty-two, with sources"}`)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// drillYAML is a service behind the switch with error, latency and header
// quality thresholds, two webhook channels (one route with drills: true),
// and a kubernetes-free second service with an exec target to be refused.
const drillYAML = `api: {listen: "127.0.0.1:0"}
store: %[1]s
reports: {dir: %[2]s}
services:
  - name: svc
    proxy: {listen: "127.0.0.1:0"}
    versions:
      - {name: v1, url: "%[3]s"}
      - {name: v2, url: "%[4]s"}
    active: v1
    signals:
      headers: {quality_score: X-Quality-Score}
    policy:
      interval: 20ms
      window: 2s
      verify: 300ms
      sustain: 2s
      suspect_grace: 4s
      require: 1
      thresholds:
        error_rate: {max: 0.05, critical: 0.25}
        latency_p99_ms: {max: 150}
        quality_score: {min: 0.5}
    drills: {share: %[7]s, timeout: 20s}
  - name: batch
    target:
      exec: {argv: [/bin/true, "--to", "{{.To}}"]}
    versions:
      - {name: b1}
    active: b1
notify:
  channels:
    - {name: drills, webhook: {url: "%[5]s", secret_file: hook.secret}}
    - {name: oncall, webhook: {url: "%[6]s", secret_file: hook.secret}}
  routes:
    - {channel: drills, min_severity: minor, drills: true}
    - {channel: oncall, min_severity: minor}
`

type drillEnv struct {
	*env
	v1, v2         *llmBackend
	drills, oncall *sink
	dir            string
}

func startDrillEnv(t *testing.T, share string) *drillEnv {
	t.Helper()
	return startDrillEnvOn(t, share, func(dir string) string { return `{url: "sqlite://` + filepath.Join(dir, "r.db") + `"}` })
}

// startDrillEnvOn is startDrillEnv with the store block store(dir) returns.
func startDrillEnvOn(t *testing.T, share string, store func(dir string) string) *drillEnv {
	t.Helper()
	d := &drillEnv{v1: newLLMBackend(t, "v1"), v2: newLLMBackend(t, "v2"), drills: newSink(t), oncall: newSink(t), dir: t.TempDir()}
	must(t, os.WriteFile(filepath.Join(d.dir, "hook.secret"), []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"), 0o600))
	src := fmt.Sprintf(drillYAML, store(d.dir), filepath.Join(d.dir, "reports"), d.v1.srv.URL, d.v2.srv.URL,
		d.drills.srv.URL, d.oncall.srv.URL, share)
	cfg, err := config.Parse([]byte(src), d.dir, app.Providers())
	if err != nil {
		t.Fatal(err)
	}
	d.env = &env{t: t, cfg: cfg, dbPath: filepath.Join(d.dir, "r.db")}
	d.boot()
	return d
}

// drill runs one drill through the API and checks the report's shape.
func (d *drillEnv) drill(fault string) controller.DrillReport {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := d.client.Drill(ctx, "svc", apiDrill(fault))
	if err != nil {
		d.t.Fatalf("drill %s: %v", fault, err)
	}
	return rep
}

// promValue reads one sample from /metrics (0 when absent).
func (d *drillEnv) promValue(name string) float64 {
	d.t.Helper()
	resp, err := http.Get("http://" + d.app.APIAddr() + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	total := 0.0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += v
		}
	}
	return total
}

// TestDrillEachFaultPassesAndLeavesNoTrace: at 200 req/s and a 5 % share,
// a drill of each fault kind passes — the verdict on the fault wrapper
// turns bad, the share is rolled back, v1 verifies — with the affected
// requests within the share; each report is a resolved drill incident
// announced only on the drills: true route. Afterwards nothing in the
// rollback machinery moved: no cooldown, nothing known-bad, no rollback
// counted in ripcord_rollbacks_total or the prevented counters, and a real
// bad deploy next is rolled back at once (no cooldown holds it) as a major
// incident, not the critical "3 rollbacks in 7 days".
func TestDrillEachFaultPassesAndLeavesNoTrace(t *testing.T) {
	d := startDrillEnv(t, "5")
	defer d.stop()
	stop := d.load(200)
	defer stop()
	d.judged(3)
	var ids []string
	for _, fault := range []string{"error", "latency", "quality", "stream"} {
		rep := d.drill(fault)
		t.Logf("%s: passed=%v detect %.3fs rollback %.4fs, %d affected / %d live (%.2f%%): %s", fault, rep.Passed,
			rep.DetectSeconds, rep.RollbackSeconds, rep.AffectedRequests, rep.LiveRequests, rep.ActualShare, rep.Reason)
		if !rep.Passed || rep.Aborted || rep.Fault != fault || rep.Service != "svc" || rep.Version != "v1" || !rep.Drill {
			t.Fatalf("%s drill: %+v", fault, rep)
		}
		if rep.DetectSeconds <= 0 || rep.AffectedRequests == 0 || rep.IncidentID == "" {
			t.Fatalf("%s drill report lacks its numbers: %+v", fault, rep)
		}
		// 5 % of what went through while the share was live; binomial,
		// 6 sigma above (and the rare small sample allowed 3 requests).
		n := float64(rep.AffectedRequests + rep.LiveRequests)
		if limit := 0.05*n + 6*sqrt(n*0.05*0.95) + 3; float64(rep.AffectedRequests) > limit {
			t.Errorf("%s drill affected %d of %.0f requests at a 5%% share", fault, rep.AffectedRequests, n)
		}
		inc := d.incident(rep.IncidentID)
		if inc.Kind != incident.KindDrill || inc.Status != incident.Resolved || !hasEvent(inc, incident.EvDetected) ||
			!hasEvent(inc, incident.EvRollbackDone) || !hasEvent(inc, incident.EvVerified) {
			t.Fatalf("%s drill incident %+v", fault, inc)
		}
		ids = append(ids, rep.IncidentID)
		s := d.status()
		if s.Active != "v1" || !s.CooldownUntil.IsZero() || s.State != controller.StateStable || s.Drilling {
			t.Fatalf("after the %s drill: %+v", fault, s)
		}
		for _, v := range s.Versions {
			if v.KnownBad {
				t.Fatalf("after the %s drill %s is known-bad", fault, v.Name)
			}
		}
	}
	if got := d.promValue("ripcord_rollbacks_total"); got != 0 {
		t.Fatalf("ripcord_rollbacks_total %v after drills only", got)
	}
	for _, in := range d.incidents() {
		if in.Kind != incident.KindDrill {
			t.Fatalf("a drill opened a %s incident: %+v", in.Kind, in)
		}
	}
	// Every drill reached the drills: true route; the other route heard
	// of none.
	waitDeliveries(t, d.drills, ids)
	if bodies, _ := d.oncall.snapshot(); len(bodies) != 0 {
		t.Fatalf("the route without drills: true got %d notifications", len(bodies))
	}

	// A real bad deploy is rolled back at once, as a plain major rollback.
	d.v2.errPM.Store(600)
	if _, err := d.client.Deploy(t.Context(), "svc", "v2", ""); err != nil {
		t.Fatal(err)
	}
	inc := d.waitIncident("the real rollback", 20*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindRollback })
	d.waitFor("back on v1", 10*time.Second, active("v1"))
	if inc.Severity != incident.Major {
		t.Fatalf("the first real rollback after 4 drills is %s, want major (drills must not count as rollbacks): %+v", inc.Severity, inc)
	}
	waitProm(t, d, "ripcord_rollbacks_total", 1)
	waitProm(t, d, "ripcord_prevented_rollbacks_total", 1)
	if bodies, _ := d.oncall.snapshot(); len(bodies) == 0 {
		t.Fatal("the real rollback was not announced on the normal route")
	}
}

func sqrt(x float64) float64 {
	z := x
	for range 30 {
		if z == 0 {
			return 0
		}
		z = (z + x/z) / 2
	}
	return z
}

func waitProm(t *testing.T, d *drillEnv, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := d.promValue(name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitDeliveries waits until the sink holds an "opened" notification for
// every incident id.
func waitDeliveries(t *testing.T, s *sink, ids []string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		bodies, _ := s.snapshot()
		seen := map[string]bool{}
		for _, b := range bodies {
			if id, ok := b["subject"].(string); ok {
				seen[id] = true
			}
		}
		missing := 0
		for _, id := range ids {
			if !seen[id] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d drill incidents never reached the drills: true route (%d bodies)", missing, len(ids), len(bodies))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShadowDrillReachesNoUser: a drill on shadow copies (--shadow) passes
// at 200 req/s — the fault wrapper's answers to the copies turn the
// verdict bad, the copies stop, v1 verifies — while no user request was
// faulted: every answer the users got is a success, the report counts
// copies and no affected request.
func TestShadowDrillReachesNoUser(t *testing.T) {
	d := startDrillEnv(t, "5")
	defer d.stop()
	stop := d.load(200)
	d.judged(3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := d.client.Drill(ctx, "svc", apiDrillReq{Fault: "error", Shadow: true})
	if err != nil {
		t.Fatal(err)
	}
	total, failed := stop()
	t.Logf("shadow drill: passed=%v detect %.3fs, %d copies, %d live: %s", rep.Passed, rep.DetectSeconds, rep.Copies, rep.LiveRequests, rep.Reason)
	if !rep.Passed || !rep.Shadow || rep.AffectedRequests != 0 || rep.Copies == 0 || rep.SharePercent != 0 {
		t.Fatalf("shadow drill report: %+v", rep)
	}
	if failed != 0 {
		t.Fatalf("%d of %d user requests failed during a shadow drill", failed, total)
	}
	inc := d.incident(rep.IncidentID)
	if inc.Kind != incident.KindDrill || inc.Status != incident.Resolved || !strings.Contains(inc.Title, "shadow copies") {
		t.Fatalf("shadow drill incident %+v", inc)
	}
	if s := d.status(); s.Active != "v1" || s.Drilling || s.Shadow != nil {
		t.Fatalf("after the shadow drill: %+v", s)
	}
}

// TestDrillAbortsWhenTheRealVersionDegrades: the real version starts
// failing during a latency drill; the drill ends its share at once and
// reports aborted, not passed, and the real version is rolled back by the
// ordinary machinery.
func TestDrillAbortsWhenTheRealVersionDegrades(t *testing.T) {
	d := startDrillEnv(t, "5")
	defer d.stop()
	stop := d.load(200)
	defer stop()
	d.judged(3)
	// Deploy v2 (healthy) so that v1 is a healthy older version to
	// roll back to when v2 degrades.
	if _, err := d.client.Deploy(t.Context(), "svc", "v2", ""); err != nil {
		t.Fatal(err)
	}
	d.judged(3)
	done := make(chan controller.DrillReport, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// A share too small to detect in the time v2 takes to degrade:
		// latency at 0.5 % of 200 req/s.
		rep, err := d.client.Drill(ctx, "svc", apiDrillShare("latency", 0.5))
		if err != nil {
			t.Errorf("drill: %v", err)
		}
		done <- rep
	}()
	d.waitFor("drilling", 10*time.Second, func(s controller.Status) bool { return s.Drilling })
	d.v2.errPM.Store(700)
	rep := <-done
	if rep.Passed || !rep.Aborted || !strings.Contains(rep.Reason, "aborted: the real version v2 degraded during the drill") {
		t.Fatalf("drill during a real degradation: %+v", rep)
	}
	t.Logf("aborted: %s", rep.Reason)
	d.waitFor("v2 rolled back by the real machinery", 20*time.Second, active("v1"))
	inc := d.waitIncident("the real rollback", 10*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindRollback })
	if inc.FromVersion != "v2" {
		t.Fatalf("rollback incident %+v", inc)
	}
	if di := d.incident(rep.IncidentID); di.Kind != incident.KindDrill || di.Status != incident.Resolved {
		t.Fatalf("drill incident %+v", di)
	}
}

// TestDrillRefusals: a service without the switch (an exec target), a
// share over 50 %, --shadow, an unknown fault and a paused service are
// refused with a message that says why, before anything
// moves; a config share over 50 % is a config error naming the field.
func TestDrillRefusals(t *testing.T) {
	d := startDrillEnv(t, "5")
	defer d.stop()
	ctx := t.Context()
	for _, tc := range []struct {
		svc  string
		req  apiDrillReq
		want string
	}{
		{"batch", apiDrill("error"), "its exec target, which cannot send a share of traffic"},
		{"svc", apiDrillShare("error", 60), "at most 50"},
		{"svc", apiDrillReq{Fault: "error", Shadow: true, Share: 5}, "drop --share"},
		{"svc", apiDrill("slow"), `fault "slow": want one of error, latency, quality, stream`},
	} {
		_, err := d.client.Drill(ctx, tc.svc, tc.req)
		var ae *apiclient.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, tc.want) {
			t.Errorf("drill %s %+v: %v, want 409 containing %q", tc.svc, tc.req, err, tc.want)
		}
	}
	if _, err := d.client.Pause(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.client.Drill(ctx, "svc", apiDrill("error")); err == nil || !strings.Contains(err.Error(), "svc is paused") {
		t.Errorf("drill of a paused service: %v", err)
	}
	if n := len(d.incidents()); n != 0 {
		t.Fatalf("refused drills opened %d incidents", n)
	}
	src := fmt.Sprintf(drillYAML, `{url: "sqlite://r.db"}`, "reports", "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3", "http://127.0.0.1:4", "60")
	_, err := config.Parse([]byte(src), d.dir, app.Providers())
	if err == nil || !strings.Contains(err.Error(), "services[0].drills.share") || !strings.Contains(err.Error(), "at most 50") {
		t.Fatalf("share 60 in the config: %v", err)
	}
}

type apiDrillReq = api.DrillRequest

func apiDrill(fault string) apiDrillReq { return apiDrillReq{Fault: fault} }

func apiDrillShare(fault string, share float64) apiDrillReq {
	return apiDrillReq{Fault: fault, Share: share}
}

// TestDrillScheduleSurvivesRestart: with drills.every a drill runs by
// itself; after a restart the next one is due from the last drill in the
// store, not from the restart.
func TestDrillScheduleSurvivesRestart(t *testing.T) {
	testDrillSchedule(t, startDrillEnv(t, "5, every: 6s"))
}

// TestDrillScheduleSurvivesRestartPostgres: the same on the PostgreSQL
// store, whose drill incidents keep the schedule as SQLite's do.
func TestDrillScheduleSurvivesRestartPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	testDrillSchedule(t, startDrillEnvOn(t, "5, every: 6s", func(dir string) string {
		must(t, os.WriteFile(filepath.Join(dir, "store.url"), []byte(dsn+"\n"), 0o600))
		return "{url_file: " + filepath.Join(dir, "store.url") + "}"
	}))
}

func testDrillSchedule(t *testing.T, d *drillEnv) {
	const every = 6 * time.Second
	defer d.stop()
	stop := d.load(200)
	isDrill := func(i incident.Incident) bool { return i.Kind == incident.KindDrill && i.Status == incident.Resolved }
	passed := func(i incident.Incident) bool { return drillOutcome(i).Data["passed"] == true }
	first := d.waitIncident("the first scheduled drill", 30*time.Second, isDrill)
	if !passed(first) {
		t.Fatalf("scheduled drill did not pass: %+v", drillOutcome(first))
	}
	stop()
	d.stop()
	d.boot() // the proxy is on a new port: new load
	stop = d.load(200)
	defer stop()
	second := d.waitIncident("the drill after the restart", 30*time.Second, func(i incident.Incident) bool {
		return isDrill(i) && i.ID != first.ID
	})
	if gap := second.CreatedAt.Sub(first.CreatedAt); gap < every || !passed(second) {
		t.Fatalf("second drill %s after the first (want ≥ drills.every %s: else the restart reset the schedule): %s",
			gap, every, drillOutcome(second).Message)
	}
}

// TestDrillInterruptedByRestart: ripcord stops right after recording a
// drill's decision (a test hook standing for a crash); on the next start the
// pending decision is failed, not carried out as a revert, the drill's
// incident is closed saying why, and traffic is all on the active version.
func TestDrillInterruptedByRestart(t *testing.T) {
	d := startDrillEnv(t, "5")
	d.stop()
	d.hooks = controller.Hooks{AfterDecision: func(dc store.Decision) error {
		if dc.Action == controller.ActionDrillStart {
			return errors.New("crash")
		}
		return nil
	}}
	d.boot()
	if _, err := d.client.Drill(t.Context(), "svc", apiDrill("error")); err == nil {
		t.Fatal("the drill went on past the crash hook")
	}
	d.stop()
	d.hooks = controller.Hooks{}
	d.boot()
	ds, err := d.client.Decisions(t.Context(), "svc")
	if err != nil || len(ds) != 1 || ds[0].Action != controller.ActionDrillStart || ds[0].Status != store.DecisionFailed ||
		!strings.Contains(ds[0].Result, "restarted during the drill") {
		t.Fatalf("decisions after the restart: %+v %v", ds, err)
	}
	inc := d.incident(ds[0].IncidentID)
	said := false
	for _, ev := range inc.Events {
		said = said || (ev.Type == incident.EvStatus && strings.Contains(ev.Message, "drill failed: ripcord restarted during the drill"))
	}
	if inc.Kind != incident.KindDrill || inc.Status != incident.Resolved || !said {
		t.Fatalf("drill incident after the restart: %+v", inc)
	}
	if s := d.status(); s.Active != "v1" || s.State != controller.StateStable || s.Drilling {
		t.Fatalf("after the restart: %+v", s)
	}
	stop := d.load(200)
	defer stop()
	d.judged(3)
	if rep := d.drill("error"); !rep.Passed {
		t.Fatalf("a drill after the restart: %+v", rep)
	}
}

// drillOutcome is the drill report event of a drill incident: its status
// event with the numbers (delivery events may follow it).
func drillOutcome(inc incident.Incident) incident.Event {
	for i := len(inc.Events) - 1; i >= 0; i-- {
		if ev := inc.Events[i]; ev.Type == incident.EvStatus && ev.Data["drill"] == true {
			return ev
		}
	}
	return incident.Event{}
}
