package file

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert"
)

// server is a model server that reads its version file on reload and
// reports healthy after a number of 503s.
type server struct {
	t         *testing.T
	path      string
	srv       *httptest.Server
	mu        sync.Mutex
	reloadSaw []string // the file's content at each reload
	unhealthy int      // health answers 503 this many more times
	healthN   atomic.Int32
	reloadErr int // status for reload (0: 204)
}

func newServer(t *testing.T, path string) *server {
	s := &server{t: t, path: path}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		b, _ := os.ReadFile(s.path)
		s.mu.Lock()
		s.reloadSaw = append(s.reloadSaw, string(b))
		status := s.reloadErr
		s.mu.Unlock()
		if status == 0 {
			status = http.StatusNoContent
		}
		w.WriteHeader(status)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s.healthN.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.unhealthy > 0 {
			s.unhealthy--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func newTarget(t *testing.T, cfg Config) *Target {
	t.Helper()
	tg, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestRevertWritesReloadsAndChecksHealth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ACTIVE")
	if err := os.WriteFile(path, []byte("v2\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, path)
	s.unhealthy = 2
	tg := newTarget(t, Config{Path: field.File(path), ReloadURL: s.srv.URL + "/reload", HealthURL: s.srv.URL + "/healthz"})

	res, err := tg.Revert(context.Background(), revert.Request{Service: "summarizer", From: "v2", To: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "v2" || res.To != "v1" || res.Duration <= 0 {
		t.Errorf("result %+v", res)
	}
	if b, _ := os.ReadFile(path); string(b) != "v1\n" {
		t.Errorf("file holds %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old 0640", fi.Mode().Perm())
	}
	if st, err := tg.Status(context.Background()); err != nil || st.Current != "v1" {
		t.Errorf("status %+v %v", st, err)
	}
	s.mu.Lock()
	saw := s.reloadSaw
	s.mu.Unlock()
	if len(saw) != 1 || saw[0] != "v1\n" {
		t.Errorf("reload saw %q, want the new version once", saw)
	}
	if n := s.healthN.Load(); n != 3 {
		t.Errorf("%d health checks, want 3 (two 503s, then 200)", n)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestRevertAgainDoesNotRewriteButConfirms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ACTIVE")
	s := newServer(t, path)
	tg := newTarget(t, Config{Path: field.File(path), ReloadURL: s.srv.URL + "/reload"})
	// A missing file is created.
	if res, err := tg.Revert(context.Background(), revert.Request{To: "v1"}); err != nil || res.From != "" {
		t.Fatalf("first revert: %+v %v", res, err)
	}
	before, _ := os.Stat(path)
	if _, err := tg.Revert(context.Background(), revert.Request{From: "v2", To: "v1"}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Error("reverting to the version already written replaced the file")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reloadSaw) != 2 {
		t.Errorf("%d reloads, want 2: a re-run must still reload", len(s.reloadSaw))
	}
}

func TestReadersNeverSeeAPartialFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ACTIVE")
	tg := newTarget(t, Config{Path: field.File(path)})
	long := strings.Repeat("x", 3000)
	if _, err := tg.Revert(context.Background(), revert.Request{To: "v1"}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	bad := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if s := string(b); err != nil || (s != "v1\n" && s != long+"\n") {
				select {
				case bad <- s:
				default:
				}
				return
			}
		}
	}()
	for i := range 60 {
		to := "v1"
		if i%2 == 0 {
			to = long
		}
		if _, err := tg.Revert(context.Background(), revert.Request{To: to}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case s := <-bad:
		t.Fatalf("a reader saw %d bytes: %.20q", len(s), s)
	default:
	}
}

func TestSymlinkIsFollowed(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "versions", "active")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "ACTIVE")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, Config{Path: field.File(link)})
	if _, err := tg.Revert(context.Background(), revert.Request{To: "v1"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(real); string(b) != "v1\n" {
		t.Errorf("link target holds %q", b)
	}
}

func TestServerNotConfirmed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ACTIVE")
	s := newServer(t, path)
	s.unhealthy = 1 << 30
	const token = "hEaLtHtOkEn"
	tg := newTarget(t, Config{Path: field.File(path), HealthURL: s.srv.URL + "/healthz?token=" + token, Timeout: 400 * time.Millisecond})
	_, err := tg.Revert(context.Background(), revert.Request{To: "v1"})
	if !errors.Is(err, ErrNotServing) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "health_url GET "+s.srv.URL+"/healthz gave no 2xx within 400ms") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error leaks the URL's query: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "v1\n" {
		t.Errorf("file %q: the write happens before the check", b)
	}

	s.reloadErr = http.StatusNotFound
	tg = newTarget(t, Config{Path: field.File(path), ReloadURL: s.srv.URL + "/reload", Timeout: time.Minute})
	_, err = tg.Revert(context.Background(), revert.Request{To: "v2"})
	if !errors.Is(err, ErrNotServing) || !strings.Contains(err.Error(), "reload_url POST") || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("reload 404: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reloadSaw) != 1 {
		t.Errorf("a 404 was retried %d times", len(s.reloadSaw)-1)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tg = newTarget(t, Config{Path: field.File(path), ReloadURL: "http://user:pAsSwOrD@" + dead.Listener.Addr().String() + "/reload", Timeout: 300 * time.Millisecond})
	if _, err = tg.Revert(context.Background(), revert.Request{To: "v3"}); !errors.Is(err, ErrNotServing) || strings.Contains(err.Error(), "pAsSwOrD") {
		t.Errorf("refused: %v", err)
	}
}

func TestDryRunAndBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ACTIVE")
	if err := os.WriteFile(path, []byte("  v2 \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, Config{Path: field.File(path)})
	res, err := tg.Revert(context.Background(), revert.Request{To: "v1", DryRun: true})
	if err != nil || res.From != "v2" || !res.DryRun {
		t.Fatalf("dry run %+v %v", res, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "  v2 \n" {
		t.Errorf("dry run wrote %q", b)
	}
	for _, v := range []string{"v1\nv0", " v1", "v\x001", strings.Repeat("v", maxVersion+1)} {
		if _, err := tg.Revert(context.Background(), revert.Request{To: v}); !errors.Is(err, ErrBadVersion) {
			t.Errorf("%.20q: %v", v, err)
		}
	}
	if _, err := tg.Revert(context.Background(), revert.Request{}); !errors.Is(err, revert.ErrNothingToRevert) {
		t.Errorf("empty to: %v", err)
	}
	missing := newTarget(t, Config{Path: field.File(filepath.Join(filepath.Dir(path), "nope"))})
	if _, err := missing.Status(context.Background()); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "write the live version into it") {
		t.Errorf("missing file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"path is required"}},
		{Config{Path: "model/ACTIVE"}, []string{"path \"model/ACTIVE\" is not absolute"}},
		{Config{Path: "/a", ReloadURL: "localhost:8080/reload", HealthURL: "ftp://x/y", Timeout: -1}, []string{"reload_url is not", "health_url is not", "timeout -1ns is negative"}},
	} {
		err := tc.cfg.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", tc.cfg, err, w)
			}
		}
	}
	if _, err := New(Config{Path: "/nonexistent-dir/ACTIVE"}); err == nil || !strings.Contains(err.Error(), "directory /nonexistent-dir does not exist") {
		t.Errorf("missing dir: %v", err)
	}
}
