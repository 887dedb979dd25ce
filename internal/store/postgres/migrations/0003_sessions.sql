-- Dashboard sessions, by the hash of their secret only (a copy of the
-- database signs nobody in). Times are the store's fixed-width UTC text, so
-- text order in the "C" collation is time order.
CREATE TABLE sessions (
	hash       TEXT PRIMARY KEY,
	token_name TEXT NOT NULL,
	role       TEXT NOT NULL,
	created_at TEXT COLLATE "C" NOT NULL,
	expires_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
