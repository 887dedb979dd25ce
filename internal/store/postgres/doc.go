// Package postgres is ripcord's server store: the same store.Store as
// store/sqlite, on PostgreSQL through pgx v5, so several ripcord processes
// can share one database (the ground for a leader that fails over).
//
// Invariants, and why:
//
//   - Same behaviour as SQLite, pinned by store/storetest: both stores run
//     the one suite.
//   - Schema changes only by appending to migrations. Migrate holds a
//     session advisory lock (migrateLock) for the whole run, so two
//     processes starting at once on an empty database apply each version
//     once; each version commits with its schema_migrations row, and a
//     database migrated by a newer build is refused (ErrSchemaTooNew).
//   - The event log is an outbox read by cursor (EventsAfter), so an event
//     with a higher Seq must never become visible before one with a lower
//     Seq. A PostgreSQL sequence hands out numbers at insert time and
//     transactions commit in any order, which would let a consumer move its
//     cursor past an event still being committed and never deliver it.
//     Every transaction that writes events therefore first takes the
//     transaction advisory lock eventLogLock, so events are numbered and
//     committed in one order. The same lock serialises incident ID
//     allocation (MAX(seq)+1), which keeps IDs gap-free as in SQLite.
//   - Times are stored as fixed-width UTC text (nine fractional digits) in
//     COLLATE "C" columns: nanosecond exact (timestamptz keeps microseconds
//     only), sortable as bytes whatever the database's collation, and the
//     zero time survives as "not set". Non-finite metric values are stored
//     as the strings "NaN", "+Inf", "-Inf", as in SQLite.
//   - The incident timeline is append-only in the schema (a trigger refuses
//     UPDATE and DELETE).
//   - The URL may carry a password: no error of this package contains the
//     URL or the password (scrub), so it is safe to log and to show.
//
// Every error starts with "postgres: " and wraps the cause with %w, so
// callers can test for store.ErrNotFound and store.ErrAlreadyFinished.
package postgres
