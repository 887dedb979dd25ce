package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const pgPassword = "p@ss/w:rd?#-" + secret

func withStore(t *testing.T, lines string) string {
	t.Helper()
	return lines + base
}

// TestPostgresURL: the password comes from the environment (escaped, so
// any character works) or the URL from a file; never from the config text.
func TestPostgresURL(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "pg.url", "postgres://ripcord:"+secret+"@db:5432/ripcord\n")
	writeFile(t, dir, "mysql.url", "mysql://db\n")
	t.Setenv("RIPCORD_TEST_PG_PASSWORD", pgPassword)
	t.Setenv("RIPCORD_TEST_PG_URL", "postgres://ripcord:"+secret+"@db/ripcord")
	t.Setenv("RIPCORD_TEST_PG_HOST", "db.internal")
	tests := []struct {
		store   Store
		want    string
		wantErr string
	}{
		{Store{URL: "postgres://ripcord:${RIPCORD_TEST_PG_PASSWORD}@db:5432/ripcord?sslmode=disable"},
			"postgres://ripcord:p%40ss%2Fw%3Ard%3F%23-" + secret + "@db:5432/ripcord?sslmode=disable", ""},
		{Store{URL: "postgresql://ripcord@${RIPCORD_TEST_PG_HOST}/ripcord"}, "postgresql://ripcord@db.internal/ripcord", ""},
		{Store{URL: "postgres://db/ripcord"}, "postgres://db/ripcord", ""},
		{Store{URL: "${RIPCORD_TEST_PG_URL}"}, "postgres://ripcord:" + secret + "@db/ripcord", ""},
		{Store{URLFile: "pg.url"}, "postgres://ripcord:" + secret + "@db:5432/ripcord", ""},
		{Store{URL: "postgres://ripcord:" + secret + "@db/ripcord"}, "", "password written into the config file"},
		{Store{URL: "postgres://db/ripcord?password=" + secret}, "", "password= parameter"},
		{Store{URL: "postgres://ripcord:${RIPCORD_TEST_UNSET}@db/ripcord"}, "", "RIPCORD_TEST_UNSET is not set"},
		{Store{URL: "${RIPCORD_TEST_UNSET}"}, "", "RIPCORD_TEST_UNSET is not set"},
		{Store{URL: "${RIPCORD_TEST_PG_HOST}"}, "", "must hold a postgres://"},
		{Store{URLFile: "missing.url"}, "", "does not exist"},
		{Store{URLFile: "mysql.url"}, "", "must hold a postgres://"},
		{Store{URLFile: "pg.url", URL: "postgres://db/x"}, "", "sets both url and url_file"},
	}
	for _, tt := range tests {
		name := tt.store.URL + tt.store.URLFile
		got, err := tt.store.PostgresURL(dir)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("%s: got %q, %v; want %q", name, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want %q", name, err, tt.wantErr)
		case err != nil && strings.Contains(err.Error(), secret):
			t.Errorf("%s: error quotes the secret: %v", name, err)
		}
		if tt.store.Kind() != StorePostgres {
			t.Errorf("%s: Kind = %s", name, tt.store.Kind())
		}
		if d := tt.store.Display(); strings.Contains(d, secret) {
			t.Errorf("%s: Display %q shows the secret", name, d)
		}
	}
}

func TestStoreDisplayMasksPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:" + secret + "@db:5432/r?sslmode=disable&password=" + secret: "postgres://u:***@db:5432/r?***",
		"postgres://u:${PW}@db/r": "postgres://u:***@db/r",
		"postgres://db/r":         "postgres://db/r",
		"${RIPCORD_STORE_URL}":    "${RIPCORD_STORE_URL}",
		"sqlite://ripcord.db":     "sqlite://ripcord.db",
	} {
		if got := (Store{URL: in}).Display(); got != want {
			t.Errorf("Display(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStoreProblemsInConfig: check-config reports store problems with
// their path and line, and never the password.
func TestStoreProblemsInConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ store, path, msg string }{
		{"store: {url: 'postgres://u:" + secret + "@db/r'}\n", "store.url", "password written into the config file"},
		{"store: {url: 'postgres://u:${RIPCORD_TEST_UNSET}@db/r'}\n", "store.url", "RIPCORD_TEST_UNSET is not set"},
		{"store: {url_file: nope.url}\n", "store.url_file", filepath.Join(dir, "nope.url") + " does not exist"},
	} {
		errs := parseErrs(t, withStore(t, tt.store), dir)
		wantProblem(t, errs, tt.path, 1, tt.msg)
		if s := fmt.Sprint(errs); strings.Contains(s, secret) {
			t.Errorf("problems quote the password: %s", s)
		}
	}
	writeFile(t, dir, "pg.url", "postgres://u:"+secret+"@db/r\n")
	cfg := mustParse(t, withStore(t, "store: {url_file: pg.url}\n"), dir)
	if cfg.Store.URL != "" || cfg.Store.Kind() != StorePostgres {
		t.Errorf("url_file config: url %q kind %s; want no sqlite default", cfg.Store.URL, cfg.Store.Kind())
	}
	for _, s := range []string{fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg.Store)} {
		if strings.Contains(s, secret) {
			t.Errorf("printed config carries the password: %s", s)
		}
	}
}
