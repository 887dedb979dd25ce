-- Leases: one row per lease (one per shard), held by one replica until
-- expires_at, which is the database server's clock, so replicas never
-- compare their own clocks. epoch grows with every change of holder and
-- is the fencing token every write of a fenced store checks.
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	epoch      BIGINT NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
