package e2e

import (
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
)

// shadowEnv runs a daemon guarding svc on v1 with the given strategy.
func shadowEnv(t *testing.T, st config.Strategy, v1 *backend) *env {
	t.Helper()
	pol := fastPolicy()
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptr(0.05), Critical: ptr(0.25)}}
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "r.db")}
	e.cfg = &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + e.dbPath},
		Reports: config.Reports{Dir: filepath.Join(t.TempDir(), "reports")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}}, Strategy: st}}}
	e.boot()
	return e
}

// shadowOf is strategy.shadow with defaults, judged for at least d.
func shadowOf(d time.Duration, compare ...string) *config.Shadow {
	s := &config.Shadow{Duration: d, Percent: 100, Methods: config.DefaultShadowMethods, MaxBody: config.DefaultShadowMaxBody,
		Backlog: config.DefaultShadowBacklog, Compare: config.ShadowCompare{MaxMismatch: config.DefaultShadowMaxMismatch}}
	if len(compare) > 0 {
		s.Compare.Status, s.Compare.JSON = true, compare
	}
	return s
}

// users sends rate req/s as distinct users and records which version
// answered each (X-Version) and how many failed.
type users struct {
	mu      sync.Mutex
	by      map[string]int64
	failed  atomic.Int64
	stopped func()
}

func (e *env) users(rate int) *users {
	u := &users{by: map[string]int64{}}
	u.stopped = openLoop("http://"+e.app.ProxyAddr("svc")+"/chat", rate, func(resp *http.Response, err error) {
		if err != nil {
			u.failed.Add(1)
			return
		}
		if resp.StatusCode >= 500 {
			u.failed.Add(1)
		}
		u.mu.Lock()
		u.by[resp.Header.Get("X-Version")]++
		u.mu.Unlock()
	})
	return u
}

func (u *users) stop() map[string]int64 {
	u.stopped()
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.by
}

// TestShadowCatchesBadVersion: a version failing half its requests is
// caught in shadow; the deploy stops with an incident that says so, the
// version is known-bad, and no user request ever reached it — the only
// requests it saw carried the switch's shadow mark, and every user's
// answer came from v1.
func TestShadowCatchesBadVersion(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	canary := config.Canary{Steps: config.DefaultCanarySteps, MinStep: time.Second, MaxStep: time.Minute}
	e := shadowEnv(t, config.Strategy{Shadow: shadowOf(30 * time.Second), Canary: &canary}, v1)
	defer e.stop()
	u := e.users(200)
	e.served(v1, 50)
	e.deploy(v2)
	if s := e.status(); s.State != controller.StateShadowing || s.Active != "v2" || s.Shadow == nil || s.Shadow.Stable != "v1" {
		t.Fatalf("after deploy: %+v", s)
	}
	inc := e.waitIncident("caught in shadow", 60*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindShadow })
	s := e.waitFor("deploy stopped", 10*time.Second, func(s controller.Status) bool {
		return s.State == controller.StateStable && s.Active == "v1" && s.Shadow == nil
	})
	by := u.stop()
	if !contains(inc.Title, "caught in shadow") || !contains(inc.Title, "no user met it") || inc.FromVersion != "v2" {
		t.Fatalf("incident %+v", inc)
	}
	bad := false
	for _, v := range s.Versions {
		bad = bad || (v.Name == "v2" && v.KnownBad && contains(v.BadReason, "caught in shadow"))
	}
	if !bad {
		t.Fatalf("v2 not known-bad: %+v", s.Versions)
	}
	copies, live := v2.copies.Load(), v2.hits.Load()-v2.copies.Load()
	if live != 0 || copies == 0 {
		t.Fatalf("v2 saw %d live requests and %d copies: want 0 live", live, copies)
	}
	if v1.copies.Load() != 0 {
		t.Fatalf("v1 saw %d copies", v1.copies.Load())
	}
	if by["v2"] != 0 || len(by) != 1 || u.failed.Load() != 0 {
		t.Fatalf("users' answers by version %v, %d failed: want all from v1", by, u.failed.Load())
	}
	ds, _ := e.client.Decisions(t.Context(), "svc")
	found := false
	for _, d := range ds {
		found = found || (d.Action == controller.ActionShadowReject && d.Status == "done" && d.FromVersion == "v2")
		if d.Action == controller.ActionCanaryStep {
			t.Fatalf("a canary step was taken: %+v", d)
		}
	}
	if !found {
		t.Fatalf("no shadow_reject decision: %+v", ds)
	}
	t.Logf("caught in shadow after %d copies; users: %v", copies, by)
}

// TestShadowHealthyThenCanary: a healthy version passes its shadow after
// duration and goes on to the canary, then to all traffic; status shows
// the shadow's evidence while it lasts.
func TestShadowHealthyThenCanary(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	canary := config.Canary{Steps: []int{50, 100}, MinStep: 300 * time.Millisecond, MaxStep: time.Minute}
	e := shadowEnv(t, config.Strategy{Shadow: shadowOf(500 * time.Millisecond), Canary: &canary}, v1)
	defer e.stop()
	u := e.users(200)
	e.served(v1, 50)
	e.deploy(v2)
	s := e.waitFor("copies counted", 10*time.Second, func(s controller.Status) bool {
		return s.Shadow != nil && s.Shadow.Counts["mirrored"] > 0
	})
	if s.State != controller.StateShadowing || s.Shadow.Duration != "500ms" {
		t.Fatalf("in shadow: %+v", s)
	}
	e.waitFor("canary at 50%", 30*time.Second, canaryAt(50))
	e.waitFor("all on v2", 30*time.Second, func(s controller.Status) bool {
		return s.State == controller.StateWatching && s.Active == "v2" && s.Canary == nil
	})
	by := u.stop()
	if u.failed.Load() != 0 || by["v2"] == 0 || v2.copies.Load() == 0 {
		t.Fatalf("users %v, %d failed, %d copies", by, u.failed.Load(), v2.copies.Load())
	}
	if incs := e.incidents(); len(incs) != 0 {
		t.Fatalf("incidents on a healthy deploy: %+v", incs)
	}
}

// TestShadowCompareMismatch: a version that answers every request with
// status 200 but a different JSON field is caught by the comparison alone.
func TestShadowCompareMismatch(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	wrong := `{"ok":false}`
	v2.answer.Store(&wrong)
	e := shadowEnv(t, config.Strategy{Shadow: shadowOf(30*time.Second, "ok")}, v1)
	defer e.stop()
	u := e.users(200)
	e.served(v1, 50)
	e.deploy(v2)
	inc := e.waitIncident("caught by comparison", 60*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindShadow })
	by := u.stop()
	if !contains(inc.Reason, "shadow_mismatch_rate") {
		t.Fatalf("incident reason %q: want the mismatch rate", inc.Reason)
	}
	if by["v2"] != 0 || v2.hits.Load() != v2.copies.Load() {
		t.Fatalf("users %v; v2 hits %d copies %d", by, v2.hits.Load(), v2.copies.Load())
	}
}

// TestShadowSurvivesRestartAndAborts: a shadow in progress resumes after a
// restart (copies flow again, users still on v1), and abort ends it with
// v2 neither live nor marked bad, on the decision trace.
func TestShadowSurvivesRestartAndAborts(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	e := shadowEnv(t, config.Strategy{Shadow: shadowOf(time.Hour)}, v1)
	defer e.stop()
	e.deploy(v2)
	e.stop()
	e.boot()
	s := e.status()
	if s.State != controller.StateShadowing || s.Active != "v2" || s.Shadow == nil || s.Shadow.Stable != "v1" {
		t.Fatalf("after restart: %+v", s)
	}
	u := e.users(100)
	before := v2.copies.Load()
	e.served(v2, 20) // copies again, after the restart
	by := u.stop()
	if v2.copies.Load() < before+20 || v2.hits.Load() != v2.copies.Load() || by["v2"] != 0 {
		t.Fatalf("after restart: v2 hits %d copies %d, users %v", v2.hits.Load(), v2.copies.Load(), by)
	}
	resp, err := http.Get("http://" + e.app.APIAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !contains(string(body), `ripcord_shadow_copies{outcome="mirrored",service="svc",version="v2"}`) {
		t.Fatalf("/metrics lacks the shadow's counts")
	}
	s, err = e.client.Abort(t.Context(), "svc", "not today")
	if err != nil || s.State != controller.StateStable || s.Active != "v1" || s.Shadow != nil {
		t.Fatalf("abort: %+v %v", s, err)
	}
	for _, v := range s.Versions {
		if v.KnownBad {
			t.Fatalf("abort marked %s bad", v.Name)
		}
	}
	ds, _ := e.client.Decisions(t.Context(), "svc")
	if len(ds) == 0 || ds[0].Action != controller.ActionAbort || ds[0].Status != "done" || !contains(ds[0].Reason, "not today") {
		t.Fatalf("decisions %+v", ds)
	}
	if len(e.incidents()) != 0 {
		t.Fatalf("abort opened an incident: %+v", e.incidents())
	}
}
