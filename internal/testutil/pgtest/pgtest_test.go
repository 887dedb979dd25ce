package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	return conn
}

func TestEachTestGetsItsOwnDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := connect(t, DSN(t)), connect(t, DSN(t))
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (id int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil || n != 0 {
		t.Errorf("database b sees a's table: %d %v", n, err)
	}
	var version string
	if err := a.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil || version == "" {
		t.Errorf("server_version %q %v", version, err)
	}
}

func TestServerRunsUnprivilegedOnLoopback(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, DSN(t))
	var addr string
	if err := conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Errorf("listen_addresses %q %v", addr, err)
	}
	sharedMu.Lock()
	pid := shared.cmd.Process.Pid
	sharedMu.Unlock()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] == "0" {
			t.Errorf("postgres runs as root: %s", line)
		}
	}
}

func TestStopEndsThePrivateCluster(t *testing.T) {
	c := Start(t)
	conn := connect(t, c.NewDatabase(t))
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid := c.cmd.Process.Pid
	_ = conn.Close(context.Background())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Stop returns after the process was reaped: it is gone now.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postmaster %d still exists after Stop: %v", pid, err)
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory left behind: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := pgx.Connect(ctx, c.DSN("postgres")); err == nil {
		t.Error("connected after Stop")
	}
}

func TestSkipped(t *testing.T) {
	for v, want := range map[string]bool{"": false, "postgres": true, "kubernetes,Postgres": true, "k8s postgres": true, "postgresql": false} {
		t.Setenv(SkipVar, v)
		if Skipped("postgres") != want {
			t.Errorf("%s=%q: Skipped = %v", SkipVar, v, !want)
		}
	}
}

// TestRestartKeepsDataAndPort: a restart cuts the clients' connections and
// brings the same data back on the same port.
func TestRestartKeepsDataAndPort(t *testing.T) {
	ctx := context.Background()
	c := Start(t)
	dsn := c.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	port := c.Port
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("a connection from before the restart still answers")
	}
	if c.Port != port {
		t.Fatalf("port %d after the restart, was %d", c.Port, port)
	}
	var v int
	if err := connect(t, dsn).QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("after the restart: %d %v", v, err)
	}
}
