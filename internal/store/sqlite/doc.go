// Package sqlite is ripcord's embedded store: one file next to the daemon,
// no server to run, pure Go (modernc.org/sqlite) so the binary stays static.
//
// Invariants, and why:
//
//   - Durability over speed. The controller's exactly-once recovery reads
//     pending decisions after a crash, so a commit that returned must be on
//     disk: WAL with synchronous=FULL. Writes are a handful of rows per
//     incident; the extra fsync is not worth trading away.
//   - One connection. SQLite has one writer; funnelling every statement
//     through a single connection makes this process's transactions serial,
//     which is what keeps incident ID allocation (MAX(seq)+1 inside the
//     insert transaction) collision-free, and keeps ":memory:" databases
//     alive. Write transactions also BEGIN IMMEDIATE so the same holds
//     against another process opening the file.
//   - Schema changes only by appending to migrations; each one commits
//     together with its schema_migrations row, and a file migrated by a newer
//     build is refused (ErrSchemaTooNew) rather than half understood.
//   - Times are stored as fixed-width UTC text with nine fractional digits:
//     exact to the nanosecond, sortable as text, and the zero time comes back
//     as time.Time{} so "not set" survives a restart.
//   - The incident timeline is append-only in the schema itself (triggers
//     refuse UPDATE and DELETE), because a review must see every event as it
//     was written.
//   - Metric maps may hold NaN or ±Inf (a ratio over zero samples); JSON
//     cannot, so those are stored as the strings "NaN", "+Inf", "-Inf".
//     Decision snapshots decode them back to floats; event Data keeps the
//     strings, since Data is free-form.
//
// Every error starts with "sqlite: " and wraps the cause with %w, so callers
// can test for store.ErrNotFound and store.ErrAlreadyFinished.
package sqlite
