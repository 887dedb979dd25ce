package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	stopKwok()
	os.Exit(code)
}

// fastYAMLPolicy is fastPolicy as the file writes it, judging pushed
// quality scores: one critical anomaly reverts.
const fastYAMLPolicy = `    policy:
      interval: 20ms
      window: 2s
      verify: 500ms
      bake: 1m
      require: 1
      consecutive: 1
      min_samples: 10
      thresholds:
        quality_score: {min: 0.75, critical: 0.5}
`

// fileEnv boots the daemon the way `ripcord serve --config` does: from a
// YAML file in dir, through app.LoadConfig (decode, validate, providers).
func fileEnv(t *testing.T, dir, yaml string) *env {
	t.Helper()
	e, err := tryFileEnv(t, dir, yaml)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func tryFileEnv(t *testing.T, dir, yaml string) (*env, error) {
	t.Helper()
	path := filepath.Join(dir, "ripcord.yaml")
	head := "api: {listen: 127.0.0.1:0}\nstore: {url: sqlite://ripcord.db}\nreports: {dir: reports}\n"
	if err := os.WriteFile(path, []byte(head+yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	e := &env{t: t, cfg: cfg, dbPath: filepath.Join(dir, "ripcord.db"), stateDir: t.TempDir()}
	a, err := app.New(context.Background(), cfg, app.Options{BaseDir: dir, StateDir: e.stateDir})
	if err != nil {
		return nil, err
	}
	if err := a.Start(context.Background()); err != nil {
		return nil, err
	}
	e.app = a
	tok, _ := a.LocalToken()
	e.client = apiclient.New("http://"+a.APIAddr(), tok)
	t.Cleanup(e.stop)
	return e, nil
}

// pushBad reports a quality collapse for version until the service leaves
// it (each push is one evidence batch).
func pushBad(t *testing.T, e *env, service, version string) statusT {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := e.client.PushSignals(ctx, service, api.SignalsRequest{Version: version, Samples: 100, Values: map[string]float64{"quality_score": 0.3}})
		if err != nil && !isStatus(err, http.StatusConflict) {
			t.Fatalf("push for %s: %v", version, err)
		}
		s, err := e.client.Service(ctx, service)
		if err != nil {
			t.Fatal(err)
		}
		if s.Active != version || s.State == "escalated" || s.State == "verifying" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never left %s: %+v", service, version, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// incidentOf waits for the service's incident to carry an event of typ
// and returns it.
func incidentOf(t *testing.T, e *env, service, typ string) incident.Incident {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		incs, err := e.client.Incidents(ctx, service, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range incs {
			full, err := e.client.Incident(ctx, i.ID)
			if err == nil && hasEvent(full, typ) {
				return full
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incident of %s with a %s event: %+v", service, typ, incs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// timeline is an incident's events as text, one a line.
func timeline(inc incident.Incident) string {
	var b strings.Builder
	for _, ev := range inc.Events {
		b.WriteString(ev.Type + ": " + ev.Message + "\n")
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
