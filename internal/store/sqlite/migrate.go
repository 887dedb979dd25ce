package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSchemaTooNew is returned by Open for a database whose schema was
// migrated by a newer ripcord. Running older code against it could silently
// drop columns it does not know, so Open refuses instead.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this ripcord")

// migrations are applied in order; migrations[i] brings the schema to
// version i+1. Never edit or reorder an entry once released: append a new
// one. Each runs in its own transaction together with its
// schema_migrations row, so a crash mid-migration leaves the previous version.
var migrations = []string{
	schemaV1,
	schemaV2,
	schemaV3,
	schemaV4,
	schemaV5,
	schemaV6,
}

// schemaV5 keeps dashboard sessions, by the hash of their secret only.
const schemaV5 = `
CREATE TABLE sessions (
	hash       TEXT PRIMARY KEY,
	token_name TEXT NOT NULL,
	role       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
`

// schemaV6 keeps a canary in progress with its service (JSON of
// store.Canary; an empty string when none), so a restart resumes the step it was on.
const schemaV6 = `
ALTER TABLE services ADD COLUMN canary TEXT NOT NULL DEFAULT '';
`

// schemaV4 gives the database an installation id, generated here, once, when
// the schema is created or upgraded, so incident ids (INC-0001, unique only
// within one database) can be told apart across installations in event ids
// and dedup keys. Each incident records the installation it was announced
// under; incidents that existed before get an empty installation, which keeps the keys they
// were announced with (ripcord-INC-0001).
const schemaV4 = `
CREATE TABLE installation (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	id  TEXT NOT NULL
) STRICT;
INSERT INTO installation (one, id) VALUES (1, lower(hex(randomblob(6))));

ALTER TABLE incidents ADD COLUMN installation TEXT NOT NULL DEFAULT '';
`

// schemaV3 keeps each notification channel's handle for an incident (a
// Slack message ts, a Statuspage incident id) so updates edit in place
// after a restart instead of posting anew.
const schemaV3 = `
CREATE TABLE channel_state (
	channel     TEXT NOT NULL,
	incident_id TEXT NOT NULL,
	value       TEXT NOT NULL,
	PRIMARY KEY (channel, incident_id)
) STRICT;
`

// schemaV2 adds delivery cursors over the event log (the notification
// outbox) and per-second metric points for post-incident reports.
const schemaV2 = `
CREATE TABLE cursors (
	name TEXT PRIMARY KEY,
	seq  INTEGER NOT NULL
) STRICT;

CREATE TABLE metric_points (
	service  TEXT NOT NULL,
	version  TEXT NOT NULL,
	at       TEXT NOT NULL,
	requests INTEGER NOT NULL,
	errors   INTEGER NOT NULL,
	p50_ms   REAL NOT NULL,
	p99_ms   REAL NOT NULL,
	vals     TEXT NOT NULL
) STRICT;
CREATE INDEX metric_points_by_service ON metric_points(service, at);
`

// schemaV1 notes:
//   - Times are fixed-width UTC text (see timeLayout): sortable, nanosecond
//     exact, readable in the sqlite3 shell.
//   - List order is insertion order (id/seq), which cannot tie or go
//     backwards when a clock does.
//   - incident_events refuses UPDATE and DELETE: the timeline is evidence
//     for the post-incident review and must not be rewritten.
const schemaV1 = `
CREATE TABLE services (
	name           TEXT PRIMARY KEY,
	active         TEXT NOT NULL,
	state          TEXT NOT NULL,
	paused         INTEGER NOT NULL,
	watch_since    TEXT NOT NULL,
	cooldown_until TEXT NOT NULL,
	incident_id    TEXT NOT NULL,
	fallbacks      INTEGER NOT NULL,
	updated_at     TEXT NOT NULL
) STRICT;

CREATE TABLE versions (
	service    TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	name       TEXT NOT NULL,
	url        TEXT NOT NULL,
	known_bad  INTEGER NOT NULL,
	bad_reason TEXT NOT NULL,
	added_at   TEXT NOT NULL,
	PRIMARY KEY (service, position)
) STRICT;

CREATE TABLE deployments (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	service TEXT NOT NULL,
	version TEXT NOT NULL,
	url     TEXT NOT NULL,
	actor   TEXT NOT NULL,
	at      TEXT NOT NULL
) STRICT;
CREATE INDEX deployments_by_service ON deployments(service);

CREATE TABLE decisions (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	service      TEXT NOT NULL,
	action       TEXT NOT NULL,
	from_version TEXT NOT NULL,
	to_version   TEXT NOT NULL,
	reason       TEXT NOT NULL,
	incident_id  TEXT NOT NULL,
	snapshot     TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
	result       TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	done_at      TEXT NOT NULL
) STRICT;
CREATE INDEX decisions_by_service ON decisions(service);
CREATE INDEX decisions_pending ON decisions(status) WHERE status = 'pending';

CREATE TABLE incidents (
	seq                 INTEGER PRIMARY KEY,
	id                  TEXT NOT NULL UNIQUE,
	service             TEXT NOT NULL,
	kind                TEXT NOT NULL,
	severity            TEXT NOT NULL,
	status              TEXT NOT NULL,
	title               TEXT NOT NULL,
	reason              TEXT NOT NULL,
	from_version        TEXT NOT NULL,
	to_version          TEXT NOT NULL,
	impact_started_at   TEXT NOT NULL,
	detected_at         TEXT NOT NULL,
	rollback_started_at TEXT NOT NULL,
	mitigated_at        TEXT NOT NULL,
	resolved_at         TEXT NOT NULL,
	created_at          TEXT NOT NULL,
	updated_at          TEXT NOT NULL
) STRICT;
CREATE INDEX incidents_by_service ON incidents(service);

CREATE TABLE incident_events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id TEXT NOT NULL REFERENCES incidents(id),
	at          TEXT NOT NULL,
	type        TEXT NOT NULL,
	actor       TEXT NOT NULL,
	message     TEXT NOT NULL,
	data        TEXT
) STRICT;
CREATE INDEX incident_events_by_incident ON incident_events(incident_id, id);

CREATE TRIGGER incident_events_no_update BEFORE UPDATE ON incident_events
BEGIN
	SELECT RAISE(ABORT, 'incident_events is append-only');
END;
CREATE TRIGGER incident_events_no_delete BEFORE DELETE ON incident_events
BEGIN
	SELECT RAISE(ABORT, 'incident_events is append-only');
END;
`

// migrate brings db to len(migrations), refusing a newer schema.
func migrate(ctx context.Context, db *sql.DB) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	) STRICT`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	var cur int
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: read version: %w", err)
	}
	if cur > len(migrations) {
		return fmt.Errorf("sqlite: database schema version %d, this build knows up to %d; upgrade ripcord: %w",
			cur, len(migrations), ErrSchemaTooNew)
	}
	for v := cur + 1; v <= len(migrations); v++ {
		if err := applyMigration(ctx, db, v); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs migrations[v-1] and records it, in one transaction.
// It re-checks inside the transaction (which holds the write lock) so two
// processes opening the same new file cannot both apply it.
func applyMigration(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate to %d: begin: %w", v, err)
	}
	defer tx.Rollback()
	var done int
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&done)
	if err != nil {
		return fmt.Errorf("sqlite: migrate to %d: %w", v, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
		return fmt.Errorf("sqlite: migrate to %d: %w", v, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		v, encTime(time.Now()))
	if err != nil {
		return fmt.Errorf("sqlite: migrate to %d: record: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate to %d: commit: %w", v, err)
	}
	return nil
}
