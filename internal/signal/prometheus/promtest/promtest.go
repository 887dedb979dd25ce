package promtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/testenv"
)

// DefaultBinary is where Debian's prometheus package puts the server.
const DefaultBinary = "/usr/bin/prometheus"

// defaultBinary is DefaultBinary, replaceable by tests of Require.
var defaultBinary = DefaultBinary

// Job is the scrape job name of every target StartPrometheus scrapes.
const Job = "promtest"

// Server is a running Prometheus.
type Server struct {
	// URL is http://127.0.0.1:PORT.
	URL string

	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
	once sync.Once
}

// Binary returns the Prometheus binary to run, or "" if there is none.
func Binary() string {
	if p := os.Getenv("RIPCORD_PROMETHEUS"); p != "" {
		return p
	}
	if _, err := os.Stat(defaultBinary); err == nil {
		return defaultBinary
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	return ""
}

// Require returns the binary, or ends the test: Fatal, unless
// RIPCORD_SKIP=prometheus opts out (testenv).
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if bin != "" {
		return bin
	}
	testenv.Missing(t, testenv.Prometheus, "prometheus binary not found at "+defaultBinary+" or on PATH (apt-get install -y prometheus)")
	return ""
}

// StartPrometheus starts Prometheus scraping targets (host:port, path
// /metrics) every scrapeInterval under job Job, waits until it is ready, and
// stops it when the test ends.
func StartPrometheus(t testing.TB, targets []string, scrapeInterval time.Duration) *Server {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config(targets, scrapeInterval)), 0o600); err != nil {
		t.Fatal(err)
	}
	var last error
	for attempt := range 3 { // the free port may be taken between probe and bind
		s, err := start(bin, cfg, filepath.Join(dir, fmt.Sprint("data", attempt)))
		if err == nil {
			t.Cleanup(s.Kill)
			return s
		}
		last = err
	}
	t.Fatalf("start prometheus: %v", last)
	return nil
}

func config(targets []string, interval time.Duration) string {
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	return fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: %[2]s
    static_configs:
      - targets: [%[3]s]
`, interval, Job, strings.Join(quoted, ", "))
}

func start(bin, cfg, data string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+data,
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	s := &Server{URL: "http://" + addr, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Kill()
		return nil, fmt.Errorf("%w; prometheus output:\n%s", err, s.log.String())
	}
	return s, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready after %s", limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill ends the server at once (SIGKILL), as a crash would, and waits until
// the process is gone. Safe to call more than once.
func (s *Server) Kill() {
	s.once.Do(func() { _ = s.cmd.Process.Kill() })
	<-s.done
}

// Stop asks the server to shut down (SIGTERM) and waits up to 10s before
// killing it.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	})
	<-s.done
}

// Log returns what the server has printed so far (warnings and errors).
func (s *Server) Log() string { return s.log.String() }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
