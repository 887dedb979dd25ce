// Package pgtest runs a real PostgreSQL for tests: Debian's server
// binaries (/usr/lib/postgresql/*/bin: initdb, postgres, pg_ctl) on an
// unprivileged cluster in a temp directory, on a private free port bound
// to 127.0.0.1, never the system service.
//
// Use DSN for a fresh database in the test binary's shared cluster (one
// initdb per binary keeps runs fast; each test gets its own database,
// dropped when it ends). The package's TestMain must call Main, which
// stops the shared cluster after the tests:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	dsn := pgtest.DSN(t) // postgres://ripcord@127.0.0.1:PORT/t1_testx?sslmode=disable
//
// Start gives a test a private cluster of its own, stopped in t.Cleanup.
//
// # Invariants
//
//   - initdb and postgres refuse to run as root, so under root they run with
//     SysProcAttr.Credential of an unprivileged user (ripcord-test if it
//     exists, else postgres, else nobody), who owns the temp directory.
//     Binaries are started directly, never through a shell.
//   - The postmaster is our child: it is stopped with pg_ctl stop -m fast
//     and then, if it is still there, killed by the PID we started; it
//     also gets SIGQUIT if the test binary dies (Pdeathsig).
//   - Missing PostgreSQL fails the test, never skips it, unless
//     RIPCORD_SKIP names postgres (RIPCORD_SKIP=postgres,kubernetes).
//   - Durability is off (fsync, synchronous_commit, full_page_writes):
//     test data need not survive a crash of the machine.
package pgtest
