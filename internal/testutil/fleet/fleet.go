// Package fleet builds, for tests, a fleet of services on file targets
// and one SQLite file: real controllers as the API serves them (Start),
// or a daemon's config of them (Config), for the paging, the CLI's
// listing and the batched start-up at many services.
package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/revert/file"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// Start opens a store and starts n services named fmt.Sprintf(format, i)
// on v1, every deployEvery-th (0 included) deployed to v2 (watching). The
// store closes when the test ends.
func Start(t *testing.T, n int, format string, deployEvery int) (*sqlite.Store, []*controller.Service) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var svcs []*controller.Service
	for i := range n {
		name := fmt.Sprintf(format, i)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("v1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tg, err := file.New(file.Config{Path: field.File(path)})
		if err != nil {
			t.Fatal(err)
		}
		svc := controller.New(config.Service{Name: name, Active: "v1", Policy: config.DefaultPolicy(),
			Versions: []config.Version{{Name: "v1"}, {Name: "v2"}}}, controller.Deps{Store: st, Target: tg, Router: controller.NoRouter{}})
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if i%deployEvery == 0 {
			if err := svc.Deploy(ctx, "v2", "", "test"); err != nil {
				t.Fatal(err)
			}
		}
		svcs = append(svcs, svc)
	}
	return st, svcs
}

// Config is a daemon's config of n services named fmt.Sprintf(format, i),
// each on v1 with a file target, on one SQLite file in a temp directory
// (reports there too), the API on a free loopback port.
func Config(t *testing.T, n int, format string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + filepath.Join(dir, "ripcord.db")},
		Reports: config.Reports{Dir: filepath.Join(dir, "reports")}}
	for i := range n {
		name := fmt.Sprintf(format, i)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("v1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Services = append(cfg.Services, config.Service{Name: name, Policy: config.DefaultPolicy(), Active: "v1",
			Versions: []config.Version{{Name: "v1"}, {Name: "v2"}},
			Target:   config.Target{Providers: []config.Block{config.BlockOf("file", file.Config{Path: field.File(path)})}}})
	}
	return cfg
}
