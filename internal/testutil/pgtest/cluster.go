package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the cluster's bootstrap role (initdb -U).
const superuser = "ripcord"

// startTimeout bounds initdb plus the server becoming ready.
const startTimeout = 60 * time.Second

// Cluster is one running PostgreSQL server in a temp directory.
type Cluster struct {
	Port int
	dir  string // base: data/, sock/, postgres.log
	bin  string
	cred *syscall.Credential // nil when not root

	cmd  *exec.Cmd
	done chan struct{} // closed when the server process has been reaped
	log  *bytes.Buffer
	logM *sync.Mutex

	stopOnce sync.Once
	stopErr  error
	stopped  atomic.Bool
}

// DSN is the connection string of database db.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, c.Port, db)
}

// binDir finds Debian's PostgreSQL binaries (the newest major version), or
// initdb on PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): apt-get install postgresql, or set RIPCORD_SKIP=postgres to skip these tests")
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// runAs picks who runs the server: the current user, or, as root (initdb
// and postgres refuse root), a dedicated unprivileged user.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"ripcord-test", "postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, errors.New("pgtest: running as root and no unprivileged user (ripcord-test, postgres, nobody) exists to run PostgreSQL as")
}

// start runs initdb and the server on a free port, waiting until it
// accepts connections.
func start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ripcord-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin, cred: cred, log: &bytes.Buffer{}, logM: &sync.Mutex{}}
	if err := c.prepare(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// Another process may take the port between our probe and the
	// server's bind; try a few.
	for attempt := 0; ; attempt++ {
		c.Port = 0
		if err = c.launch(); err == nil {
			return c, nil
		}
		if attempt == 2 || !strings.Contains(c.logText(), "could not bind") {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

// prepare makes the directories (owned by the server's user) and runs
// initdb.
func (c *Cluster) prepare() error {
	for _, d := range []string{c.dir, filepath.Join(c.dir, "sock")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if c.cred != nil {
			if err := os.Chown(d, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("pgtest: chown %s to the unprivileged user: %w", d, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := c.command(ctx, "initdb", "-D", c.data(), "-U", superuser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	return nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// command runs one PostgreSQL binary directly (never through a shell) as
// the server's user, with a minimal environment.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=" + c.bin + ":/usr/bin:/bin", "LC_ALL=C", "TZ=UTC", "PGTZ=UTC", "HOME=" + c.dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// launch starts the postmaster itself (not through pg_ctl start, which
// would detach it) so its PID is ours to stop and it dies with the test
// binary (Pdeathsig) if the binary is killed.
func (c *Cluster) launch() error {
	port := c.Port
	if port == 0 { // a restart keeps its port, so clients reconnect to it
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	c.Port = port
	cmd := c.command(context.Background(), "postgres", "-D", c.data(), "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+filepath.Join(c.dir, "sock"),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB", "-c", "logging_collector=off")
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	cmd.Stdout, cmd.Stderr = c.logWriter(), c.logWriter()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	c.cmd, c.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(c.done) }()
	if err := c.waitReady(); err != nil {
		c.kill()
		return fmt.Errorf("%w\npostgres log:\n%s", err, c.logText())
	}
	return nil
}

func (c *Cluster) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.done:
			return errors.New("pgtest: postgres exited during start-up")
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready after %s: %w", startTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop shuts the server down (pg_ctl stop -m fast), kills its PID if it
// is still there after that, and removes the directory.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.stopped.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := c.command(ctx, "pg_ctl", "stop", "-D", c.data(), "-m", "fast", "-w", "-t", "20").CombinedOutput()
		if err != nil {
			c.stopErr = fmt.Errorf("pgtest: pg_ctl stop: %w: %s", err, out)
		}
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			c.kill()
		}
		if err := os.RemoveAll(c.dir); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("pgtest: %w", err)
		}
	})
	return c.stopErr
}

// Restart stops the server (pg_ctl stop -m fast: every client connection
// is cut, committed work is kept) and starts it again on the same port
// and data, for tests of what a database restart does to its clients.
func (c *Cluster) Restart() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := c.command(ctx, "pg_ctl", "stop", "-D", c.data(), "-m", "fast", "-w", "-t", "20").CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: restart: pg_ctl stop: %w: %s", err, out)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return errors.New("pgtest: restart: the server did not exit")
	}
	return c.launch()
}

// kill ends the postmaster we started, by its PID, and waits for it.
func (c *Cluster) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 1<<20 {
		return len(p), nil
	}
	return w.buf.Write(p)
}

func (c *Cluster) logWriter() lockedWriter { return lockedWriter{c.logM, c.log} }

func (c *Cluster) logText() string {
	c.logM.Lock()
	defer c.logM.Unlock()
	s := c.log.String()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}
