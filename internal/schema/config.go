package schema

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ripcord/ripcord/internal/config/field"
)

// Drivers.
const (
	DriverPostgres = "postgres"
	DriverSQLite   = "sqlite"
)

// Presets: the migration tools whose bookkeeping table ripcord reads.
const (
	PresetGolangMigrate = "golang-migrate"
	PresetGoose         = "goose"
	PresetFlyway        = "flyway"
)

// Config says how to read a service's live schema version. In YAML:
//
//	schema_source:
//	  driver: postgres            # or sqlite
//	  url_file: db.url            # or url: ${DATABASE_URL}; sqlite: the file's path
//	  preset: golang-migrate      # or goose, flyway; or query: SELECT …
//
// A query's first column of its first row is the version; a second
// column, if any, is a dirty flag (true: a migration failed halfway).
type Config struct {
	Driver string `yaml:"driver"`
	URL    string `yaml:"url"`
	// URLFile holds the URL (it may carry a password); the config layer
	// resolves it to an absolute path and New reads it.
	URLFile string `yaml:"url_file"`
	Query   string `yaml:"query"`
	Preset  string `yaml:"preset"`
}

// Validate reports every problem at once, each naming its field and the
// fix. It reads nothing.
func (c Config) Validate() error {
	var errs field.Errors
	add := func(key, format string, a ...any) { errs.Add(key, format, a...) }
	switch c.Driver {
	case DriverPostgres, DriverSQLite:
	case "":
		add("driver", "driver is required: postgres or sqlite")
	default:
		add("driver", "driver %q: want postgres or sqlite", c.Driver)
	}
	switch {
	case c.URL != "" && c.URLFile != "":
		add("url", "sets both url and url_file: keep exactly one")
	case c.URL == "" && c.URLFile == "":
		add("url", "url or url_file is required: the database to read the schema version from")
	case c.URLFile != "" && !filepath.IsAbs(c.URLFile):
		add("url_file", "url_file %q is not absolute: relative paths are resolved against the config file's directory before the reader is built", c.URLFile)
	case c.Driver == DriverSQLite && c.URL != "" && !filepath.IsAbs(strings.TrimPrefix(c.URL, "file:")):
		add("url", "url %q: for sqlite, give the database file's absolute path", c.URL)
	}
	switch {
	case c.Query != "" && c.Preset != "":
		add("query", "sets both query and preset: keep exactly one")
	case c.Query == "" && c.Preset == "":
		add("preset", "preset or query is required: preset golang-migrate, goose or flyway, or a query returning the version")
	case c.Preset != "" && c.Preset != PresetGolangMigrate && c.Preset != PresetGoose && c.Preset != PresetFlyway:
		add("preset", "preset %q: want golang-migrate, goose or flyway (or write a query)", c.Preset)
	}
	if err := errs.Err(); err != nil {
		return fmt.Errorf("schema source: %w", err)
	}
	return nil
}
