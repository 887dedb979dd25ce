package e2e

import (
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/incident"
)

// canaryEnv runs a daemon guarding svc on v1 with strategy.canary.
func canaryEnv(t *testing.T, c config.Canary, tokens map[string]string, v1 *backend) *env {
	t.Helper()
	pol := fastPolicy()
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptr(0.05), Critical: ptr(0.25)}}
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "r.db")}
	e.cfg = &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + e.dbPath},
		Reports: config.Reports{Dir: filepath.Join(t.TempDir(), "reports")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: v1.srv.URL}}, Strategy: config.Strategy{Canary: &c}}}}
	for role, secret := range tokens {
		e.cfg.API.Tokens = append(e.cfg.API.Tokens, config.Token{Name: role + "-token", Role: role, Value: secret})
	}
	e.boot()
	return e
}

func canaryAt(pct int) func(controller.Status) bool {
	return func(s controller.Status) bool { return s.Canary != nil && s.Canary.Percent == pct }
}

// TestCanaryHealthyAdvancesToFull: a healthy canary climbs every step on
// evidence and ends as the watched version, with one decision per share.
func TestCanaryHealthyAdvancesToFull(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	steps := []int{10, 25, 50, 100}
	e := canaryEnv(t, config.Canary{Steps: steps, MinStep: 300 * time.Millisecond, MaxStep: time.Minute}, nil, v1)
	defer e.stop()
	stop := e.load(300)
	defer stop()
	e.served(v1, 50)
	start := time.Now()
	e.deploy(v2)
	for _, pct := range steps[:len(steps)-1] {
		s := e.waitFor("canary at "+itoa(pct)+"%", 30*time.Second, canaryAt(pct))
		if s.Active != "v2" || s.Canary.Stable != "v1" || s.State != controller.StateCanary {
			t.Fatalf("at %d%%: %+v", pct, s)
		}
	}
	s := e.waitFor("v2 promoted by evidence", 30*time.Second, func(s controller.Status) bool {
		return s.State == controller.StateWatching && s.Active == "v2" && s.Canary == nil
	})
	t.Logf("1st step → 100%% in %s at 300 req/s (steps %v, min_step 300ms)", time.Since(start).Round(time.Millisecond), steps)
	if total, failed := stop(); failed != 0 {
		t.Fatalf("%d of %d requests failed during a healthy canary", failed, total)
	}
	ds, err := e.client.Decisions(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range ds {
		if d.Action == controller.ActionCanaryStep {
			n++
			if d.Status != "done" {
				t.Errorf("decision %d %s", d.ID, d.Status)
			}
		}
	}
	if n != len(steps) || len(e.incidents()) != 0 {
		t.Fatalf("%d canary decisions (want %d), incidents %+v; status %+v", n, len(steps), e.incidents(), s)
	}
}

// TestCanaryBadRevertedAtFirstStep: a canary failing half its requests is
// reverted at 1 % through the blue-green machinery — a rollback incident,
// the version known-bad, traffic all on stable — and most users never met
// it.
func TestCanaryBadRevertedAtFirstStep(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(500)
	e := canaryEnv(t, config.Canary{Steps: config.DefaultCanarySteps, MinStep: 10 * time.Second, MaxStep: time.Minute}, nil, v1)
	defer e.stop()
	stop := e.load(300)
	defer stop()
	e.served(v1, 50)
	e.deploy(v2)
	if s := e.status(); s.Canary == nil || s.Canary.Percent != 1 {
		t.Fatalf("after deploy: %+v", s)
	}
	inc := e.waitIncident("rollback incident", 60*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindRollback })
	s := e.waitFor("back on v1", 10*time.Second, func(s controller.Status) bool { return s.Active == "v1" && s.Canary == nil })
	total, _ := stop()
	if inc.FromVersion != "v2" || inc.ToVersion != "v1" {
		t.Fatalf("incident %+v", inc)
	}
	bad := false
	for _, v := range s.Versions {
		bad = bad || (v.Name == "v2" && v.KnownBad)
	}
	if !bad {
		t.Fatalf("v2 not known-bad: %+v", s.Versions)
	}
	ds, _ := e.client.Decisions(t.Context(), "svc")
	steps := 0
	for _, d := range ds {
		if d.Action == controller.ActionCanaryStep {
			steps++
		}
	}
	if steps != 1 {
		t.Fatalf("%d canary steps taken, want only the first", steps)
	}
	if hits := v2.hits.Load(); hits*20 > total {
		t.Fatalf("v2 served %d of %d requests: more than 5%% at a 1%% step", hits, total)
	}
	t.Logf("v2 served %d of %d requests before the revert", v2.hits.Load(), total)
}

// TestCanaryPromoteAbortRolesRestart: promote and abort need the operator
// role; abort returns to stable without an incident or a known-bad mark
// and is on the decision trace with its reason; a canary survives a
// restart on its step.
func TestCanaryPromoteAbortRolesRestart(t *testing.T) {
	secrets := map[string]string{config.RoleViewer: "viewer-7d1e", config.RoleOperator: "operator-c93a", config.RoleAdmin: "admin-51bf"}
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	e := canaryEnv(t, config.Canary{Steps: []int{5, 100}, MinStep: time.Hour, MaxStep: 2 * time.Hour}, secrets, v1)
	defer e.stop()
	ctx := t.Context()
	as := func(role string) *apiclient.Client { return apiclient.New("http://"+e.app.APIAddr(), secrets[role]) }
	op := as(config.RoleOperator)
	if _, err := op.Deploy(ctx, "svc", "v2", v2.srv.URL); err != nil {
		t.Fatal(err)
	}
	var apiErr *apiclient.Error
	if _, err := as(config.RoleViewer).Promote(ctx, "svc"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("viewer promote: %v", err)
	}
	if _, err := as(config.RoleViewer).Abort(ctx, "svc", "x"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("viewer abort: %v", err)
	}
	// Restart mid-canary: the same step, the same split.
	e.stop()
	e.boot()
	op = as(config.RoleOperator)
	if s, _ := op.Service(ctx, "svc"); s.Canary == nil || s.Canary.Percent != 5 || s.Active != "v2" {
		t.Fatalf("after restart: %+v", s)
	}
	s, err := op.Abort(ctx, "svc", "wrong build tag")
	if err != nil || s.Active != "v1" || s.State != controller.StateStable || s.Canary != nil {
		t.Fatalf("abort: %+v %v", s, err)
	}
	for _, v := range s.Versions {
		if v.KnownBad {
			t.Fatalf("abort marked %s known-bad", v.Name)
		}
	}
	if incs := e.incidents(); len(incs) != 0 {
		t.Fatalf("abort opened incidents: %+v", incs)
	}
	ds, _ := op.Decisions(ctx, "svc")
	if len(ds) == 0 || ds[0].Action != controller.ActionAbort || ds[0].Status != "done" ||
		!contains(ds[0].Reason, "wrong build tag") || !contains(ds[0].Reason, "aborted by operator-token") {
		t.Fatalf("abort on the decision trace: %+v", ds)
	}
	if _, err := op.Abort(ctx, "svc", ""); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Fatalf("abort without a canary: %v", err)
	}
	// Deployed again and promoted: all traffic on v2, watched.
	if _, err := op.Deploy(ctx, "svc", "v2", ""); err != nil {
		t.Fatal(err)
	}
	if s, err = op.Promote(ctx, "svc"); err != nil || s.Active != "v2" || s.State != controller.StateWatching || s.Canary != nil {
		t.Fatalf("promote: %+v %v", s, err)
	}
	for range 20 {
		resp, err := http.Get("http://" + e.app.ProxyAddr("svc") + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if v := resp.Header.Get("X-Version"); v != "v2" {
			t.Fatalf("after promote a request met %s", v)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
