-- High availability (config ha): the replicas sharing this database, for
-- `ripcord status` and for finding a lease holder's API; and the secret
-- they authenticate each other's calls with (live statistics), created
-- once, readable only by who can read this database.
CREATE TABLE replicas (
	name      TEXT PRIMARY KEY,
	advertise TEXT NOT NULL,
	seen_at   TIMESTAMPTZ NOT NULL,
	started_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE cluster_secret (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	secret TEXT NOT NULL
);
