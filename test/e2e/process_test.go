package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
)

// sink is a local receiver for one channel's wire format. While down it
// answers 503; it records every accepted body.
type sink struct {
	down   atomic.Bool
	mu     sync.Mutex
	bodies []map[string]any
	ids    []string
	srv    *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &body)
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.ids = append(s.ids, r.Header.Get("webhook-id"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"x"}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) snapshot() ([]map[string]any, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.bodies...), append([]string(nil), s.ids...)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildBinary compiles ripcord once for the process tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ripcord")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/ripcord")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKillBeforeDeliveryThenRestartDeliversOnce runs the real binary, lets
// it roll back a bad deploy while every channel is down, SIGKILLs it, brings
// the channels back and restarts it: every notification arrives, once.
func TestKillBeforeDeliveryThenRestartDeliversOnce(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2").failPerMille(700)
	hooks, pd := newSink(t), newSink(t)
	hooks.down.Store(true)
	pd.down.Store(true)
	apiAddr, proxyAddr := freeAddr(t), freeAddr(t)
	must(t, os.WriteFile(filepath.Join(dir, "op.token"), []byte("operator-token-x1\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "hook.secret"), []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "pd.key"), []byte("R0UT1NGKEY00000000000000000000AB\n"), 0o600))
	cfg := fmt.Sprintf(`api:
  listen: %s
  tokens:
    - {name: ops, role: operator, token_file: op.token}
store: {url: sqlite://ripcord.db}
services:
  - name: svc
    proxy: {listen: %s}
    versions:
      - {name: v1, url: %s}
    policy: {interval: 20ms, window: 2s, verify: 1s}
notify:
  channels:
    - {name: hooks, webhook: {url: %s, secret_file: hook.secret}}
    - {name: pager, pagerduty: {url: %s, routing_key_file: pd.key}}
  routes:
    - {channel: hooks, min_severity: minor}
    - {channel: pager, min_severity: major}
`, apiAddr, proxyAddr, v1.srv.URL, hooks.srv.URL, pd.srv.URL)
	must(t, os.WriteFile(filepath.Join(dir, "ripcord.yaml"), []byte(cfg), 0o600))

	c := apiclient.New("http://"+apiAddr, "operator-token-x1")
	proc := startProcess(t, bin, dir, c)
	e := &env{t: t, client: c}
	stop := loadAt(t, "http://"+proxyAddr+"/", 300)
	if _, err := c.Deploy(context.Background(), "svc", "v2", v2.srv.URL); err != nil {
		t.Fatal(err)
	}
	e.waitFor("rollback", 10*time.Second, active("v1"))
	must(t, proc.Process.Signal(syscall.SIGKILL))
	_ = proc.Wait()
	stop()
	if b, _ := hooks.snapshot(); len(b) != 0 {
		t.Fatalf("delivered while the receiver was down: %v", b)
	}

	hooks.down.Store(false)
	pd.down.Store(false)
	stop = loadAt(t, "http://"+proxyAddr+"/", 300)
	defer stop()
	proc = startProcess(t, bin, dir, c)
	defer func() { _ = proc.Process.Signal(syscall.SIGTERM); _ = proc.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		bodies, _ := hooks.snapshot()
		if hasType(bodies, "dev.ripcord.incident.updated", "verified") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	bodies, ids := hooks.snapshot()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("webhook %s delivered twice: %v", id, ids)
		}
		seen[id] = true
	}
	if !hasType(bodies, "dev.ripcord.incident.opened", "opened") || !hasType(bodies, "dev.ripcord.incident.updated", "rollback_done") ||
		!hasType(bodies, "dev.ripcord.incident.updated", "verified") {
		t.Fatalf("webhook deliveries after restart lack opened/rollback_done/verified: %d bodies", len(bodies))
	}
	pds, _ := pd.snapshot()
	if len(pds) == 0 {
		t.Fatal("PagerDuty received nothing after restart")
	}
	// One key for the incident across the restart, naming the installation.
	key := regexp.MustCompile(`^ripcord-[0-9a-f]{12}-INC-0001$`)
	for _, b := range pds {
		if !key.MatchString(fmt.Sprint(b["dedup_key"])) || b["dedup_key"] != pds[0]["dedup_key"] || b["event_action"] != "trigger" {
			t.Fatalf("PagerDuty event %v", b)
		}
	}
}

func hasType(bodies []map[string]any, typ, event string) bool {
	for _, b := range bodies {
		data, _ := b["data"].(map[string]any)
		ev, _ := data["event"].(map[string]any)
		if b["type"] == typ && ev["type"] == event {
			return true
		}
	}
	return false
}

func startProcess(t *testing.T, bin, dir string, c *apiclient.Client) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-c", "ripcord.yaml")
	cmd.Dir = dir
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	must(t, cmd.Start())
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := c.Services(context.Background()); err == nil {
			return cmd
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("ripcord did not come up:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loadAt is env.load for a proxy address outside an in-process env.
func loadAt(t *testing.T, url string, rate int) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for ctx.Err() == nil {
			<-tick.C
			wg.Go(func() {
				if resp, err := client.Get(url); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	})
	return func() { cancel(); wg.Wait() }
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
