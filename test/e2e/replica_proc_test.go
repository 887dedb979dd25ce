package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/apiclient"
)

const crashToken = "crash-suite-operator-token-0123456789"

// replicaSet is two (or more) real `ripcord serve` processes on one
// PostgreSQL database, each with its own config file, API and proxy
// ports, sharing the tokens, the service and the notify channel.
type replicaSet struct {
	t    *testing.T
	bin  string
	reps []*replicaProc
}

// replicaProc is one replica: its directory and ports stay the same across
// restarts, so a restarted process is the same replica.
type replicaProc struct {
	name, dir string
	api, prox string
	cli       *apiclient.Client

	mu     sync.Mutex
	cmd    *exec.Cmd
	lines  []logLine // every JSON log line of every run, with when the test read it
	exited chan struct{}
	exitAt time.Time
	runs   int
	notify chan struct{} // closed and replaced at each new line or exit
}

type logLine struct {
	at    time.Time
	run   int
	msg   string
	epoch int64
	raw   string
}

// replicaConfig is what every replica's config file shares.
type replicaConfig struct {
	storeURL string // written to pg.url, never into the YAML
	v1URL    string
	hookURL  string
	leaseTTL time.Duration
	// haExtra is added to the ha block (e.g. the Kubernetes Lease keys).
	haExtra string
}

func newReplicaSet(t *testing.T, n int, rc replicaConfig) *replicaSet {
	t.Helper()
	rs := &replicaSet{t: t, bin: buildBinary(t)}
	for i := range n {
		dir := t.TempDir()
		r := &replicaProc{name: fmt.Sprintf("r%d", i), dir: dir, api: freeAddr(t), prox: freeAddr(t), notify: make(chan struct{})}
		r.cli = apiclient.New("http://"+r.api, crashToken)
		rs.writeConfig(r, rc)
		rs.reps = append(rs.reps, r)
	}
	t.Cleanup(func() {
		for _, r := range rs.reps {
			r.kill()
		}
		if t.Failed() {
			for _, r := range rs.reps {
				t.Logf("--- %s log (last lines):\n%s", r.name, r.tail(60))
			}
		}
	})
	return rs
}

func (rs *replicaSet) writeConfig(r *replicaProc, rc replicaConfig) {
	t := rs.t
	must(t, os.WriteFile(filepath.Join(r.dir, "op.token"), []byte(crashToken+"\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(r.dir, "hook.secret"), []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"), 0o600))
	rs.setStoreURL(r, rc.storeURL)
	cfg := fmt.Sprintf(`api:
  listen: %s
  tokens:
    - {name: ops, role: operator, token_file: op.token}
store: {url_file: pg.url}
log: {format: json, level: info}
ha: {replica: %s, advertise: "http://%s", lease_ttl: %s%s}
services:
  - name: svc
    proxy: {listen: %s}
    versions:
      - {name: v1, url: %s}
    policy: {interval: 20ms, window: 2s, verify: 500ms, cooldown: 0s, blind_grace: 500ms}
notify:
  channels:
    - {name: hooks, webhook: {url: %s, secret_file: hook.secret}}
  routes:
    - {channel: hooks, min_severity: minor}
`, r.api, r.name, r.api, rc.leaseTTL, rc.haExtra, r.prox, rc.v1URL, rc.hookURL)
	must(t, os.WriteFile(filepath.Join(r.dir, "ripcord.yaml"), []byte(cfg), 0o600))
}

// setStoreURL points the replica's next start at another store URL (a
// fault relay in front of PostgreSQL).
func (rs *replicaSet) setStoreURL(r *replicaProc, u string) {
	must(rs.t, os.WriteFile(filepath.Join(r.dir, "pg.url"), []byte(u+"\n"), 0o600))
}

// start runs the replica, with RIPCORD_TEST_CRASH_AT=crashAt when not
// empty, and returns once its API answers.
func (rs *replicaSet) start(r *replicaProc, crashAt string) {
	t := rs.t
	t.Helper()
	cmd := exec.Command(rs.bin, "serve", "-c", "ripcord.yaml")
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "RIPCORD_TEST_CRASH_AT="+crashAt)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = cmd.Stdout
	must(t, cmd.Start())
	r.mu.Lock()
	r.runs++
	run := r.runs
	r.cmd, r.exited = cmd, make(chan struct{})
	exited := r.exited
	r.mu.Unlock()
	go func() {
		r.scan(out, run)
		_ = cmd.Wait()
		r.mu.Lock()
		r.exitAt = time.Now()
		close(exited)
		r.wakeLocked()
		r.mu.Unlock()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := r.cli.Services(context.Background()); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited during start-up:\n%s", r.name, r.tail(40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up:\n%s", r.name, r.tail(40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *replicaProc) scan(out io.Reader, run int) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		at := time.Now()
		var m struct {
			Msg   string `json:"msg"`
			Epoch int64  `json:"epoch"`
		}
		_ = json.Unmarshal(sc.Bytes(), &m)
		r.mu.Lock()
		r.lines = append(r.lines, logLine{at: at, run: run, msg: m.Msg, epoch: m.Epoch, raw: sc.Text()})
		r.wakeLocked()
		r.mu.Unlock()
	}
}

func (r *replicaProc) wakeLocked() {
	close(r.notify)
	r.notify = make(chan struct{})
}

// waitLine waits for a log line with msg from run (0: any) at or after
// index from, and returns it and its index.
func (r *replicaProc) waitLine(t *testing.T, msg string, run, from int, timeout time.Duration) (logLine, int) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		for i := from; i < len(r.lines); i++ {
			if l := r.lines[i]; l.msg == msg && (run == 0 || l.run == run) {
				r.mu.Unlock()
				return l, i
			}
		}
		ch := r.notify
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: no %q log line after %s:\n%s", r.name, msg, timeout, r.tail(40))
		}
	}
}

// mark is the index the next log line will have.
func (r *replicaProc) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lines)
}

func (r *replicaProc) currentRun() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs
}

// waitExit waits for the current run to end and returns when the test saw
// it end.
func (r *replicaProc) waitExit(t *testing.T, timeout time.Duration) time.Time {
	t.Helper()
	r.mu.Lock()
	ch := r.exited
	r.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s:\n%s", r.name, timeout, r.tail(40))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exitAt
}

// killedBySIGKILL reports whether the last run ended by SIGKILL.
func (r *replicaProc) killedBySIGKILL() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func (r *replicaProc) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exited == nil {
		return false
	}
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// stop ends the run with SIGTERM (a clean shutdown releases the lease).
func (r *replicaProc) stop(t *testing.T) {
	t.Helper()
	if !r.running() {
		return
	}
	r.mu.Lock()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	r.mu.Unlock()
	r.waitExit(t, 30*time.Second)
}

// kill ends the run with SIGKILL (cleanup; crashes are the process's own).
func (r *replicaProc) kill() {
	if !r.running() {
		return
	}
	r.mu.Lock()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	ch := r.exited
	r.mu.Unlock()
	<-ch
}

func (r *replicaProc) tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := max(len(r.lines)-n, 0)
	var b strings.Builder
	for _, l := range r.lines[from:] {
		fmt.Fprintf(&b, "[run %d] %s\n", l.run, l.raw)
	}
	return b.String()
}

// linesSince returns copies of the lines from index from on.
func (r *replicaProc) linesSince(from int) []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logLine(nil), r.lines[min(from, len(r.lines)):]...)
}
