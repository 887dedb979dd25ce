-- The schema of SQLite's versions 1 to 4 in one step (PostgreSQL starts
-- here). Times are fixed-width UTC text in COLLATE "C" columns, so they
-- sort as bytes whatever the database's collation; see doc.go.

CREATE TABLE services (
	name           TEXT COLLATE "C" PRIMARY KEY,
	active         TEXT NOT NULL,
	state          TEXT NOT NULL,
	paused         BOOLEAN NOT NULL,
	watch_since    TEXT COLLATE "C" NOT NULL,
	cooldown_until TEXT COLLATE "C" NOT NULL,
	incident_id    TEXT NOT NULL,
	fallbacks      INTEGER NOT NULL,
	updated_at     TEXT COLLATE "C" NOT NULL
);

CREATE TABLE versions (
	service    TEXT COLLATE "C" NOT NULL REFERENCES services(name) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	name       TEXT NOT NULL,
	url        TEXT NOT NULL,
	known_bad  BOOLEAN NOT NULL,
	bad_reason TEXT NOT NULL,
	added_at   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (service, position)
);

CREATE TABLE deployments (
	id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service TEXT NOT NULL,
	version TEXT NOT NULL,
	url     TEXT NOT NULL,
	actor   TEXT NOT NULL,
	at      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX deployments_by_service ON deployments(service, id);

CREATE TABLE decisions (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service      TEXT NOT NULL,
	action       TEXT NOT NULL,
	from_version TEXT NOT NULL,
	to_version   TEXT NOT NULL,
	reason       TEXT NOT NULL,
	incident_id  TEXT NOT NULL,
	snapshot     TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
	result       TEXT NOT NULL,
	created_at   TEXT COLLATE "C" NOT NULL,
	done_at      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX decisions_by_service ON decisions(service, id);
CREATE INDEX decisions_pending ON decisions(id) WHERE status = 'pending';

CREATE TABLE installation (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	id  TEXT NOT NULL
);
-- 12 hex digits, as SQLite's lower(hex(randomblob(6))).
INSERT INTO installation (one, id) VALUES (1, substr(replace(gen_random_uuid()::text, '-', ''), 1, 12));

CREATE TABLE incidents (
	seq                 BIGINT PRIMARY KEY,
	id                  TEXT NOT NULL UNIQUE,
	service             TEXT NOT NULL,
	kind                TEXT NOT NULL,
	severity            TEXT NOT NULL,
	status              TEXT NOT NULL,
	title               TEXT NOT NULL,
	reason              TEXT NOT NULL,
	from_version        TEXT NOT NULL,
	to_version          TEXT NOT NULL,
	impact_started_at   TEXT COLLATE "C" NOT NULL,
	detected_at         TEXT COLLATE "C" NOT NULL,
	rollback_started_at TEXT COLLATE "C" NOT NULL,
	mitigated_at        TEXT COLLATE "C" NOT NULL,
	resolved_at         TEXT COLLATE "C" NOT NULL,
	created_at          TEXT COLLATE "C" NOT NULL,
	updated_at          TEXT COLLATE "C" NOT NULL,
	installation        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_by_service ON incidents(service);

CREATE TABLE incident_events (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents(id),
	at          TEXT COLLATE "C" NOT NULL,
	type        TEXT NOT NULL,
	actor       TEXT NOT NULL,
	message     TEXT NOT NULL,
	data        TEXT
);
CREATE INDEX incident_events_by_incident ON incident_events(incident_id, id);

CREATE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'incident_events is append-only';
END;
$$;
CREATE TRIGGER incident_events_no_change BEFORE UPDATE OR DELETE ON incident_events
	FOR EACH ROW EXECUTE FUNCTION incident_events_append_only();

CREATE TABLE cursors (
	name TEXT PRIMARY KEY,
	seq  BIGINT NOT NULL
);

CREATE TABLE channel_state (
	channel     TEXT NOT NULL,
	incident_id TEXT NOT NULL,
	value       TEXT NOT NULL,
	PRIMARY KEY (channel, incident_id)
);

CREATE TABLE metric_points (
	service  TEXT NOT NULL,
	version  TEXT NOT NULL,
	at       TEXT COLLATE "C" NOT NULL,
	requests BIGINT NOT NULL,
	errors   BIGINT NOT NULL,
	p50_ms   DOUBLE PRECISION NOT NULL,
	p99_ms   DOUBLE PRECISION NOT NULL,
	vals     TEXT NOT NULL
);
CREATE INDEX metric_points_by_service ON metric_points(service, at);
