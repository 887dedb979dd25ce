package sqlite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// crashEnv names the database the crash helper writes to; the helper runs
// only in a child process started by TestCrashKeepsCommittedWork.
const crashEnv = "RIPCORD_SQLITE_CRASH_DB"

// TestMain runs the crash helper instead of the tests in the child process
// TestCrashKeepsCommittedWork starts, so no test is skipped in a normal run.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashHelper(path)
	}
	os.Exit(m.Run())
}

// crashAt is the fixed instant everything the helper writes is stamped with.
var crashAt = time.Date(2026, 2, 3, 4, 5, 6, 789012345, time.UTC)

// crashHelper, in the child process, writes one of everything through the
// store, starts a write that it never commits, and exits without closing
// the store — what a kill -9 or a power cut leaves behind.
func crashHelper(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		crashFail(err)
	}
	if err := writeEverything(ctx, s); err != nil {
		crashFail(err)
	}
	// A transaction in flight at the crash: begun, written, never committed.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		crashFail(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cursors (name, seq) VALUES ('uncommitted', 1)`); err != nil {
		crashFail(err)
	}
	os.Exit(3) // no Close, no Commit
}

func crashFail(err error) {
	os.Stderr.WriteString("crash helper: " + err.Error() + "\n")
	os.Exit(1)
}

// writeEverything writes one of each record the store keeps, the way the
// daemon does just before a revert: a decision left pending, the service
// saying it is reverting, an incident with a timeline.
func writeEverything(ctx context.Context, s *Store) error {
	st := store.ServiceState{Name: "checkout", Active: "v2", State: "reverting", WatchSince: crashAt,
		CooldownUntil: crashAt.Add(time.Minute), IncidentID: "INC-0001", Fallbacks: 1, UpdatedAt: crashAt,
		Versions: []store.Version{
			{Name: "v1", URL: "http://u:pw@10.0.0.1:9001", AddedAt: crashAt.Add(-time.Hour)},
			{Name: "v2", URL: "http://10.0.0.2:9001", KnownBad: true, BadReason: "error_rate 50%", AddedAt: crashAt},
		}}
	done, err := s.RecordDecision(ctx, store.Decision{Service: "checkout", Action: "rollback", FromVersion: "v3",
		ToVersion: "v2", Reason: "first", CreatedAt: crashAt.Add(-time.Minute)})
	if err != nil {
		return err
	}
	if err := s.FinishDecision(ctx, done, store.DecisionDone, "switched", crashAt.Add(-time.Second)); err != nil {
		return err
	}
	dec, err := s.Decide(ctx, store.Decision{Service: "checkout", Action: "fallback", FromVersion: "v2", ToVersion: "v1",
		Reason: "v2 bad too", Snapshot: map[string]float64{"error_rate": 0.5, "latency_p99_ms": 1450}, CreatedAt: crashAt}, st)
	if err != nil {
		return err
	}
	id, err := s.CreateIncident(ctx, incident.Incident{Service: "checkout", Kind: incident.KindRollback,
		Severity: incident.Major, Status: incident.Investigating, Title: "checkout down", Reason: "error_rate 50%",
		FromVersion: "v2", ToVersion: "v1", DetectedAt: crashAt, CreatedAt: crashAt, UpdatedAt: crashAt,
		Events: []incident.Event{{At: crashAt, Type: incident.EvOpened, Actor: "ripcord", Message: "opened"}}})
	if err != nil {
		return err
	}
	if err := s.LinkDecision(ctx, dec, id); err != nil {
		return err
	}
	err = s.UpdateIncident(ctx, id, func(inc *incident.Incident) error {
		inc.Status = incident.Identified
		return nil
	}, incident.Event{At: crashAt, Type: incident.EvStatus, Actor: "ripcord", Message: "investigating → identified"})
	if err != nil {
		return err
	}
	if err := s.AppendEvent(ctx, id, incident.Event{At: crashAt, Type: incident.EvNote, Actor: "ann", Message: "on it",
		Data: map[string]any{"n": 1}}); err != nil {
		return err
	}
	if _, err := s.RecordDeployment(ctx, store.Deployment{Service: "checkout", Version: "v2", URL: "http://10.0.0.2:9001",
		Actor: "alice", At: crashAt.Add(-time.Minute)}); err != nil {
		return err
	}
	if err := s.SetCursor(ctx, "notify:slack", 2); err != nil {
		return err
	}
	if err := s.SetChannelState(ctx, "slack", id, `{"ts":"1.2"}`); err != nil {
		return err
	}
	return s.RecordMetrics(ctx, []store.MetricPoint{{Service: "checkout", Version: "v2", At: crashAt, Requests: 105,
		Errors: 53, P50Ms: 95, P99Ms: 1450, Values: map[string]float64{"quality_score": 0.6}}})
}

// TestCrashKeepsCommittedWork is the restart guarantee with a real crash:
// a child process writes and dies without closing the store; the file,
// opened again, holds every committed write and nothing of the transaction
// that was in flight.
func TestCrashKeepsCommittedWork(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ripcord.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("crash helper: %v, want exit status 3\n%s", err, out)
	}
	ctx := context.Background()
	s := openFile(t, path)
	defer s.Close()
	checkEverything(t, ctx, s)
	if _, found, err := s.Cursor(ctx, "uncommitted"); err != nil || found {
		t.Errorf("the uncommitted cursor is there after the crash (found %v, %v)", found, err)
	}
	// The store goes on where it left off.
	next, err := s.CreateIncident(ctx, incident.Incident{Service: "checkout", CreatedAt: crashAt})
	if err != nil || next != "INC-0002" {
		t.Errorf("next incident after the crash = %q, %v; want INC-0002", next, err)
	}
}

// TestCloseAndReopenKeepsEverything: the same check for an orderly
// restart, reopened twice so nothing depends on the first open's state.
func TestCloseAndReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	s := openFile(t, path)
	if err := writeEverything(ctx, s); err != nil {
		t.Fatal(err)
	}
	inst, _ := s.InstallationID(ctx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s = openFile(t, path)
		checkEverything(t, ctx, s)
		if again, _ := s.InstallationID(ctx); again != inst {
			t.Errorf("round %d: installation id %q, want %q", round, again, inst)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEverything finds what writeEverything wrote, field by field.
func checkEverything(t *testing.T, ctx context.Context, s *Store) {
	t.Helper()
	st, err := s.LoadService(ctx, "checkout")
	if err != nil {
		t.Fatalf("LoadService: %v", err)
	}
	if st.Active != "v2" || st.State != "reverting" || !st.WatchSince.Equal(crashAt) || st.Fallbacks != 1 ||
		!st.CooldownUntil.Equal(crashAt.Add(time.Minute)) || st.IncidentID != "INC-0001" {
		t.Errorf("service = %+v", st)
	}
	if len(st.Versions) != 2 || st.Versions[0].URL != "http://u:pw@10.0.0.1:9001" || !st.Versions[1].KnownBad ||
		st.Versions[1].BadReason != "error_rate 50%" {
		t.Errorf("versions = %+v (the store keeps the URL as given)", st.Versions)
	}
	pend, err := s.PendingDecisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 1 || pend[0].Action != "fallback" || pend[0].IncidentID != "INC-0001" ||
		pend[0].Snapshot["latency_p99_ms"] != 1450 || !pend[0].CreatedAt.Equal(crashAt) {
		t.Errorf("pending decisions = %+v, want the linked fallback", pend)
	}
	all, err := s.ListDecisions(ctx, "checkout", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[1].Status != store.DecisionDone || all[1].Result != "switched" ||
		!all[1].DoneAt.Equal(crashAt.Add(-time.Second)) {
		t.Errorf("decisions = %+v, want the finished rollback kept as done", all)
	}
	inc, err := s.GetIncident(ctx, "INC-0001")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != incident.Identified || inc.Title != "checkout down" || !inc.DetectedAt.Equal(crashAt) || inc.Installation == "" {
		t.Errorf("incident = %+v", inc)
	}
	types := ""
	for _, ev := range inc.Events {
		types += ev.Type + " "
	}
	if types != "opened status note " || inc.Events[2].Data["n"] != 1.0 {
		t.Errorf("timeline = %q %+v", types, inc.Events)
	}
	if evs, err := s.EventsAfter(ctx, 0, 0); err != nil || len(evs) != 3 || evs[2].Event.Seq != inc.Events[2].Seq {
		t.Errorf("event log = %+v, %v", evs, err)
	}
	deps, err := s.ListDeployments(ctx, "checkout", 0)
	if err != nil || len(deps) != 1 || deps[0].Actor != "alice" {
		t.Errorf("deployments = %+v, %v", deps, err)
	}
	if seq, found, err := s.Cursor(ctx, "notify:slack"); err != nil || !found || seq != 2 {
		t.Errorf("cursor = %d %v %v", seq, found, err)
	}
	if v, err := s.ChannelState(ctx, "slack", "INC-0001"); err != nil || v != `{"ts":"1.2"}` {
		t.Errorf("channel state = %q, %v", v, err)
	}
	pts, err := s.Metrics(ctx, "checkout", crashAt, crashAt)
	if err != nil || len(pts) != 1 || pts[0].Errors != 53 || pts[0].Values["quality_score"] != 0.6 {
		t.Errorf("metrics = %+v, %v", pts, err)
	}
}
