package schema

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backend is one real database and the config that reads it.
type backend struct {
	name string
	cfg  Config
	db   *sql.DB // read-write, for the test's setup
	// ddl is each migration tool's own bookkeeping table in this dialect.
	ddl map[string]string
}

var pgDDL = map[string]string{
	PresetGolangMigrate: `CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`,
	PresetGoose: `CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL,
		tstamp timestamp NULL DEFAULT now(), PRIMARY KEY (id))`,
	PresetFlyway: `CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL,
		type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL,
		installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INT NOT NULL, success BOOLEAN NOT NULL,
		CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank))`,
}

var sqliteDDL = map[string]string{
	PresetGolangMigrate: `CREATE TABLE schema_migrations (version uint64, dirty bool); CREATE UNIQUE INDEX version_unique ON schema_migrations (version)`,
	PresetGoose: `CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL,
		tstamp TIMESTAMP DEFAULT (datetime('now')))`,
	PresetFlyway: `CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL,
		type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL,
		installed_on TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), execution_time INT NOT NULL, success BOOLEAN NOT NULL)`,
}

func postgres(t *testing.T) backend {
	dsn := pgtest.DSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return backend{name: "postgres", cfg: Config{Driver: DriverPostgres, URL: dsn}, db: db, ddl: pgDDL}
}

func sqlite(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec("PRAGMA user_version = 1"); err != nil { // creates the file
		t.Fatal(err)
	}
	return backend{name: "sqlite", cfg: Config{Driver: DriverSQLite, URL: path}, db: db, ddl: sqliteDDL}
}

func (b backend) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		for _, one := range strings.Split(s, ";") {
			if strings.TrimSpace(one) == "" {
				continue
			}
			if _, err := b.db.Exec(one); err != nil {
				t.Fatalf("%s: %s: %v", b.name, one, err)
			}
		}
	}
}

func (b backend) read(t *testing.T, cfg Config) (Version, error) {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Read(context.Background())
}

// flyway rows: installed_rank, version (NULL: repeatable), type, success.
const flywayInsert = `INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES `

type scenario struct {
	name   string
	preset string
	rows   []string
	query  string
	want   string // the version, or "" when err is wanted
	err    error
	text   string
}

var scenarios = []scenario{
	{name: "migrate clean", preset: PresetGolangMigrate, rows: []string{"INSERT INTO schema_migrations VALUES (42, false)"}, want: "42"},
	{name: "migrate dirty", preset: PresetGolangMigrate, rows: []string{"INSERT INTO schema_migrations VALUES (42, true)"}, err: ErrDirty, text: "version 42 is dirty"},
	{name: "migrate empty", preset: PresetGolangMigrate, err: ErrNoVersion},
	{name: "goose latest applied", preset: PresetGoose, rows: []string{"INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true)"}, want: "3"},
	{name: "goose rolled back", preset: PresetGoose, rows: []string{"INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true), (3, false)"}, want: "2"},
	{name: "goose timestamps", preset: PresetGoose, rows: []string{"INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (20240101120000, true)"}, want: "20240101120000"},
	{name: "goose fresh", preset: PresetGoose, rows: []string{"INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)"}, want: "0"},
	{name: "flyway dotted order", preset: PresetFlyway, rows: []string{flywayInsert + `(1, '1', 'base', 'BASELINE', 'b', NULL, 'ci', 1, true),
		(2, '1.9', 'a', 'SQL', 'V1_9__a.sql', 1, 'ci', 1, true), (3, '1.10', 'b', 'SQL', 'V1_10__b.sql', 1, 'ci', 1, true),
		(4, NULL, 'views', 'SQL', 'R__views.sql', 1, 'ci', 1, true), (5, '1.2', 'out of order', 'SQL', 'V1_2__c.sql', 1, 'ci', 1, true)`}, want: "1.10"},
	{name: "flyway undo", preset: PresetFlyway, rows: []string{flywayInsert + `(1, '1.9', 'a', 'SQL', 'V1_9__a.sql', 1, 'ci', 1, true),
		(2, '1.10', 'b', 'SQL', 'V1_10__b.sql', 1, 'ci', 1, true), (3, '1.10', 'b', 'UNDO_SQL', 'U1_10__b.sql', 1, 'ci', 1, true)`}, want: "1.9"},
	{name: "flyway failed", preset: PresetFlyway, rows: []string{flywayInsert + `(1, '1.9', 'a', 'SQL', 'V1_9__a.sql', 1, 'ci', 1, true),
		(2, '1.10', 'b', 'SQL', 'V1_10__b.sql', 1, 'ci', 1, false)`}, err: ErrDirty, text: "failed migration to 1.10"},
	{name: "flyway failed then fixed", preset: PresetFlyway, rows: []string{flywayInsert + `(1, '1.10', 'b', 'SQL', 'V1_10__b.sql', 1, 'ci', 1, false),
		(2, '1.10', 'b', 'SQL', 'V1_10__b.sql', 1, 'ci', 1, true)`}, want: "1.10"},
	{name: "query", rows: []string{"CREATE TABLE app_meta (k text, v text)", "INSERT INTO app_meta VALUES ('schema', '7.3')"}, query: "SELECT v FROM app_meta WHERE k = 'schema'", want: "7.3"},
	{name: "query integer", query: "SELECT 41", want: "41"},
	{name: "query dirty", query: "SELECT 41, true", err: ErrDirty, text: "version 41 dirty"},
	{name: "query clean flag", query: "SELECT '41', false", want: "41"},
	{name: "query no row", rows: []string{"CREATE TABLE empty_meta (v int)"}, query: "SELECT v FROM empty_meta", err: ErrNoVersion},
	{name: "query three columns", query: "SELECT 1, 2, 3", text: "returns 3 columns"},
	{name: "query not a version", query: "SELECT 'forty-two'", text: "is not dotted numbers"},
}

func TestReadPresetsAndQueries(t *testing.T) {
	for _, open := range []func(*testing.T) backend{postgres, sqlite} {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				b := open(t)
				t.Run(b.name, func(t *testing.T) {
					cfg := b.cfg
					cfg.Preset, cfg.Query = sc.preset, sc.query
					if sc.preset != "" {
						b.exec(t, b.ddl[sc.preset])
					}
					b.exec(t, sc.rows...)
					v, err := b.read(t, cfg)
					switch {
					case sc.want != "":
						if err != nil || v.String() != sc.want {
							t.Fatalf("read %q, %v; want %s", v, err, sc.want)
						}
					case err == nil:
						t.Fatalf("read %q, want an error", v)
					case sc.err != nil && !errors.Is(err, sc.err), !strings.Contains(err.Error(), sc.text):
						t.Fatalf("err = %v, want %v with %q", err, sc.err, sc.text)
					}
				})
			})
		}
	}
}

func TestMissingTableSaysWhy(t *testing.T) {
	for _, open := range []func(*testing.T) backend{postgres, sqlite} {
		b := open(t)
		cfg := b.cfg
		cfg.Preset = PresetGolangMigrate
		_, err := b.read(t, cfg)
		if err == nil || !strings.Contains(err.Error(), "table schema_migrations is missing (wrong preset") {
			t.Errorf("%s: %v", b.name, err)
		}
	}
}

// The guard's refusal, end to end on PostgreSQL: golang-migrate says 42,
// v1 declares max 41.
func TestGuardRefusalOnPostgres(t *testing.T) {
	b := postgres(t)
	b.exec(t, b.ddl[PresetGolangMigrate], "INSERT INTO schema_migrations VALUES (42, false)")
	cfg := b.cfg
	cfg.Preset = PresetGolangMigrate
	db, err := b.read(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := ParseRange("40", "41")
	v2, _ := ParseRange("41", "42")
	if v1.Contains(db) || !v2.Contains(db) {
		t.Errorf("v1 %s contains 42: %v; v2 %s: %v", v1, v1.Contains(db), v2, v2.Contains(db))
	}
	if why := v1.Why("v1", db); why != "v1 works with schema ≤ 41; the database is at 42" {
		t.Errorf("why %q", why)
	}
}

func TestSQLiteIsReadOnly(t *testing.T) {
	b := sqlite(t)
	b.exec(t, "CREATE TABLE t (a int)")
	_, err := b.read(t, Config{Driver: DriverSQLite, URL: b.cfg.URL, Query: "INSERT INTO t VALUES (1) RETURNING a"})
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("a write through the reader: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope.db")
	if _, err := New(Config{Driver: DriverSQLite, URL: missing, Preset: PresetGoose}); err == nil || !strings.Contains(err.Error(), "nope.db") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Error("the reader created the database file")
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	const pw = "Sup3r-S3cret-pw"
	dir := t.TempDir()
	file := filepath.Join(dir, "db.url")
	if err := os.WriteFile(file, []byte("postgres://app:"+pw+"@127.0.0.1:1/app?sslmode=disable&connect_timeout=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Driver: DriverPostgres, URLFile: file, Preset: PresetGolangMigrate})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Read(context.Background())
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("err = %v", err)
	}
	if err := os.WriteFile(file, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Driver: DriverPostgres, URLFile: file, Preset: PresetGoose}); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty url_file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"driver is required", "url or url_file is required", "preset or query is required"}},
		{Config{Driver: "mysql", URL: "x", URLFile: "/y", Query: "q", Preset: "flyway"}, []string{`driver "mysql"`, "both url and url_file", "both query and preset"}},
		{Config{Driver: DriverPostgres, URLFile: "db.url", Preset: "liquibase"}, []string{`url_file "db.url" is not absolute`, `preset "liquibase"`}},
		{Config{Driver: DriverSQLite, URL: "app.db", Preset: PresetGoose}, []string{"absolute path"}},
	} {
		err := tc.cfg.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", tc.cfg, err, w)
			}
		}
	}
}

// '#' ends the path in an SQLite URI and '%' escapes; a file whose path holds them
// must still be the one read.
func TestSQLitePathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd #% dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(migrateAt9); err != nil {
		t.Fatal(err)
	}
	v, err := (backend{name: "sqlite", db: db}).read(t, Config{Driver: DriverSQLite, URL: path, Preset: PresetGolangMigrate})
	if err != nil || v.String() != "9" {
		t.Errorf("read %q %v", v, err)
	}
}

const migrateAt9 = `CREATE TABLE schema_migrations (version uint64, dirty bool); INSERT INTO schema_migrations VALUES (9, 0)`
