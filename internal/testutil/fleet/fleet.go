// Package fleet builds, for tests, a fleet of real controllers on one
// SQLite file, each with a file target, as the API serves them: what the
// API's paging and the client's page-following are tested against.
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
