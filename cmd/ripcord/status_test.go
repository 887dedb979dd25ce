package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/testutil/fleet"
)

// TestStatusOfALargeFleet: more services than the API's default page
// are all listed (the CLI pages), a line each with a count at the end;
// the filters narrow the list on the server; a few are shown in full.
func TestStatusOfALargeFleet(t *testing.T) {
	t.Setenv("RIPCORD_TOKEN", "")
	const n = 520 // more than api.DefaultServicesPage
	cfg := fleet.Config(t, n, "svc-%03d")
	cfg.API.Tokens = []config.Token{{Name: "dash", Role: config.RoleViewer, Value: viewerTok}}
	a, err := app.New(t.Context(), cfg, app.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	for _, name := range []string{"svc-007", "svc-517"} {
		if err := a.Service(name).Deploy(t.Context(), "v2", "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	view := []string{"--server", "http://" + a.APIAddr(), "--token", viewerTok}

	code, out, errs := cli(t, append([]string{"status"}, view...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != n+2 || !strings.HasPrefix(lines[0], "SERVICE") || !strings.HasPrefix(lines[n], "svc-519 ") {
		t.Fatalf("status: exit %d, %d lines (%q … %q) %s", code, len(lines), lines[0], lines[len(lines)-1], errs)
	}
	if want := fmt.Sprintf("%d services: ", n); !strings.HasPrefix(lines[n+1], want) || !strings.Contains(lines[n+1], "518 stable, 2 watching") {
		t.Fatalf("summary %q", lines[n+1])
	}
	code, out, _ = cli(t, append([]string{"status", "--state", "watching"}, view...)...)
	if code != 0 || !strings.HasPrefix(out, "svc-007: watching on v2") || !strings.Contains(out, "svc-517: watching on v2") || strings.Contains(out, "svc-008") {
		t.Fatalf("status --state watching: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, append([]string{"status", "--match", "SVC-51", "--json"}, view...)...)
	if code != 0 || strings.Count(out, `"name": "svc-51`) != 10 {
		t.Fatalf("status --match --json: exit %d\n%s", code, out)
	}
	if code, _, errs := cli(t, append([]string{"status", "--verdict", "great"}, view...)...); code != 1 || !strings.Contains(errs, `verdict: "great" is not one`) {
		t.Fatalf("a bad verdict: exit %d %s", code, errs)
	}
}
