package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
)

// drillDaemon is a daemon guarding svc behind the switch (a fast policy)
// with 200 req/s of load on it.
func drillDaemon(t *testing.T) string {
	t.Helper()
	t.Setenv("RIPCORD_TOKEN", "")
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "v1") }))
	t.Cleanup(b.Close)
	dir := t.TempDir()
	pol := config.DefaultPolicy()
	pol.Interval, pol.Window, pol.Verify = 20*time.Millisecond, 2*time.Second, 300*time.Millisecond
	cfg := &config.Config{
		API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{
			{Name: "dash", Role: config.RoleViewer, Value: viewerTok}, {Name: "sre", Role: config.RoleOperator, Value: operatorTok}}},
		Store:   config.Store{URL: "sqlite://" + filepath.Join(dir, "ripcord.db")},
		Reports: config.Reports{Dir: filepath.Join(dir, "reports")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol,
			Versions: []config.Version{{Name: "v1", URL: b.URL}}}},
	}
	a, err := app.New(t.Context(), cfg, app.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		c := &http.Client{Timeout: 5 * time.Second}
		tick := time.NewTicker(5 * time.Millisecond) // 200 req/s
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if resp, err := c.Get("http://" + a.ProxyAddr("svc") + "/"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); _ = a.Stop(context.Background()) })
	return "http://" + a.APIAddr()
}

// TestDrillCommand: `ripcord drill svc --json` passes and prints one
// object with the promised keys as its last line; --all drills every
// service behind the switch; --shadow faults copies only; a viewer, --shadow with --share, a share over 50 % and a
// missing SERVICE are refused with one line saying why.
func TestDrillCommand(t *testing.T) {
	server := drillDaemon(t)
	op := []string{"--server", server, "--token", operatorTok}
	code, stdout, stderr := cli(t, append([]string{"drill", "svc", "--fault", "stream", "--json"}, op...)...)
	if code != 0 {
		t.Fatalf("drill: exit %d %s %s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"service", "fault", "passed", "detect_seconds", "affected_requests", "incident_id"} {
		if _, ok := last[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, lines[len(lines)-1])
		}
	}
	if last["service"] != "svc" || last["fault"] != "stream" || last["passed"] != true || last["detect_seconds"].(float64) <= 0 ||
		last["affected_requests"].(float64) < 1 || !strings.HasPrefix(last["incident_id"].(string), "INC-") {
		t.Fatalf("--json: %v", last)
	}
	code, stdout, _ = cli(t, append([]string{"drill", "svc", "--shadow"}, op...)...)
	if code != 0 || !strings.Contains(stdout, "svc: drill PASSED (error fault on shadow copies to v1)") || !strings.Contains(stdout, "no user request affected") {
		t.Fatalf("drill --shadow: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = cli(t, append([]string{"drill", "--all"}, op...)...)
	if code != 0 || !strings.Contains(stdout, "svc: drill PASSED (error fault on 5% of traffic to v1), incident INC-") {
		t.Fatalf("drill --all: exit %d\n%s", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"drill", "svc", "--server", server, "--token", viewerTok}, "HTTP 403"},
		{append([]string{"drill", "svc", "--shadow", "--share", "5"}, op...), "drop --share"},
		{append([]string{"drill", "svc", "--share", "75"}, op...), "at most 50"},
		{append([]string{"drill"}, op...), "give one SERVICE or --all"},
		{append([]string{"drill", "svc", "--all"}, op...), "give one SERVICE or --all"},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != 1 || !strings.HasPrefix(stderr, "ripcord: ") || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", tc.args, code, stderr, tc.want)
		}
	}
}
