package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// TestDryRunObservesOnly: with `dry_run: true` in the YAML a bad deploy is
// decided, recorded and announced ("would have rolled back v2 → v1"), and
// the real switch keeps sending traffic to v2.
func TestDryRunObservesOnly(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(600)
	dir := t.TempDir()
	cfg, err := config.Parse(fmt.Appendf(nil, `api: {listen: "127.0.0.1:0"}
store: {url: "sqlite://%s"}
reports: {dir: %s}
services:
  - name: svc
    proxy: {listen: "127.0.0.1:0"}
    versions:
      - {name: v1, url: "%s"}
    policy: {interval: 20ms, window: 2s, verify: 500ms, dry_run: true}
`, filepath.Join(dir, "r.db"), filepath.Join(dir, "reports"), v1.srv.URL), dir, app.Providers())
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Services[0].Policy.DryRun {
		t.Fatal("dry_run: true did not load")
	}
	e := &env{t: t, cfg: cfg}
	e.boot()
	stop := e.load(300)
	defer stop()
	e.deploy(v2)
	inc := e.waitIncident("the dry-run incident", 10*time.Second, func(i incident.Incident) bool { return i.Kind == incident.KindDryRun })
	if inc.Title != "svc: dry run: would have rolled back v2 → v1" || inc.FromVersion != "v2" || inc.ToVersion != "v1" {
		t.Fatalf("incident %+v", inc)
	}
	var said bool
	for _, ev := range inc.Events {
		said = said || (ev.Type == incident.EvDecision && strings.HasPrefix(ev.Message, "would have rolled back v2 → v1: error_rate"))
	}
	if !said {
		t.Fatalf("timeline does not say what would have happened: %+v", inc.Events)
	}
	e.served(v2, 300) // traffic still reaches the bad version
	s := e.judged(3)
	if s.Active != "v2" || s.State == "reverting" || s.State == "verifying" || s.Versions[1].KnownBad {
		t.Fatalf("dry run moved the service: %+v", s)
	}
	ds, err := e.client.Decisions(t.Context(), "svc")
	if err != nil || len(ds) != 1 || ds[0].Action != "dry_run" || ds[0].Status != store.DecisionDone {
		t.Fatalf("decisions %+v %v", ds, err)
	}
	if n := len(e.incidents()); n != 1 {
		t.Fatalf("%d incidents for one bad version, want 1", n)
	}
}
