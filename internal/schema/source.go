package schema

import (
	"github.com/ripcord/ripcord/internal/config/field"
)

// The config file names the database by its driver, as a provider block
// under services[].schema_source (exactly one of them):
//
//	schema_source:
//	  postgres:
//	    url_file: db.url          # or url: ${DATABASE_URL}; never a literal
//	    preset: golang-migrate    # or goose, flyway; or query: SELECT …
//
//	schema_source:
//	  sqlite:
//	    path: app.db              # relative to the config file
//	    preset: goose
//
// The kinds are app's; each decodes into its Source type here, which
// validates offline and turns into the Reader's Config.

// PostgresSource is schema_source.postgres.
type PostgresSource struct {
	// URL is a PostgreSQL connection URL; it may carry a password, so the
	// file gives it as url_file: PATH or url: ${ENV} and it prints as
	// <redacted>.
	URL    field.Secret `yaml:"url"`
	Preset string       `yaml:"preset"`
	Query  string       `yaml:"query"`
}

// Config is the Reader's Config for s.
func (s PostgresSource) Config() Config {
	return Config{Driver: DriverPostgres, URL: s.URL.Reveal(), Preset: s.Preset, Query: s.Query}
}

// Validate reports every problem as field.Errors relative to the block.
func (s PostgresSource) Validate() error {
	var errs field.Errors
	if s.URL == "" {
		errs.MissingSecret("url")
	}
	checkQuery(&errs, s.Preset, s.Query)
	return errs.Err()
}

// SQLiteSource is schema_source.sqlite.
type SQLiteSource struct {
	// Path is the database file; the Reader opens it read-only.
	Path   field.File `yaml:"path"`
	Preset string     `yaml:"preset"`
	Query  string     `yaml:"query"`
}

// Config is the Reader's Config for s.
func (s SQLiteSource) Config() Config {
	return Config{Driver: DriverSQLite, URL: string(s.Path), Preset: s.Preset, Query: s.Query}
}

// Validate reports every problem as field.Errors relative to the block.
func (s SQLiteSource) Validate() error {
	var errs field.Errors
	if s.Path == "" {
		errs.Add("path", "is required: the SQLite database file whose schema version is read (relative to the config file)")
	}
	checkQuery(&errs, s.Preset, s.Query)
	return errs.Err()
}

func checkQuery(errs *field.Errors, preset, query string) {
	switch {
	case query != "" && preset != "":
		errs.Add("query", "is set together with preset: keep exactly one")
	case query == "" && preset == "":
		errs.Add("preset", "or query is required: preset golang-migrate, goose or flyway, or a query whose first column of the first row is the version (a second column, if any, is a dirty flag)")
	case preset != "" && preset != PresetGolangMigrate && preset != PresetGoose && preset != PresetFlyway:
		errs.Add("preset", "%q: want golang-migrate, goose or flyway (or write a query)", preset)
	}
}
