// Package schema reads a database's live schema version for the
// schema-aware guard: a service version may declare the schema range it
// works with (schema: {min: 40, max: 42}, or the ripcord.dev/schema-min
// and ripcord.dev/schema-max labels and tags), and ripcord never reverts
// to a version whose range excludes the live schema.
//
// Version compares dotted numbers part by part (1.10 > 1.9; 1.0 = 1).
// Range.Contains tests a schema version, and Range.Why gives the reason
// for the incident: "v1 works with schema ≤ 41; the database is at 42".
//
// Reader reads PostgreSQL (pgx v5, through database/sql) or SQLite
// (modernc.org/sqlite, opened read-only) with a preset for a migration
// tool or a query of the operator's:
//
//   - golang-migrate: SELECT version, dirty FROM schema_migrations. A dirty
//     row is ErrDirty: a migration failed halfway, the live schema is
//     unknown, and the controller escalates instead of guessing.
//   - goose: goose_db_version read the way goose does (newest row first;
//     the first applied version that was not rolled back later).
//   - flyway: flyway_schema_history replayed in installed_rank order
//     (undo migrations remove their version), the highest successful
//     version by dotted-number order; a failed migration not since
//     applied is ErrDirty.
//   - query: the first column of the first row is the version; a second
//     column, if any, is a dirty flag.
//
// The URL (from url or url_file) may hold a password: it never appears in
// errors.
package schema
