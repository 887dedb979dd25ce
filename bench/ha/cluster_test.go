package ha_bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const token = "bench-admin-token-0123456789abcdef"

// cluster starts n replicas guarding svc on a new database and returns
// them with the index of the one acting; they stop when t ends.
func cluster(t *testing.T, n int, svc config.Service) ([]*app.App, int) {
	t.Helper()
	dsn := pgtest.DSN(t)
	var apps []*app.App
	for i := range n {
		cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{{Name: "ops", Role: config.RoleAdmin, Value: token}}},
			Store: config.Store{URL: dsn}, Services: []config.Service{svc}, Reports: config.Reports{Dir: filepath.Join(t.TempDir(), "r")},
			HA: &config.HA{Replica: fmt.Sprintf("replica-%d", i), LeaseTTL: 2 * time.Second}}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		a, err := app.New(context.Background(), cfg, app.Options{StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Stop(context.Background()) })
		apps = append(apps, a)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for i, a := range apps {
			if a.HA().Leads(0) {
				return apps, i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no replica acts")
		}
	}
}
