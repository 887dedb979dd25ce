package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/store"
)

// EventsAfter reads the global event log past a consumer's cursor. Events
// are numbered and committed in one order (eventLogLock), so nothing with a
// lower Seq can still appear once a higher one is visible.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]store.EventRef, error) {
	op := fmt.Sprintf("events after %d", after)
	rows, err := s.pool.Query(ctx, `SELECT id, incident_id, at, type, actor, message, data
		FROM incident_events WHERE id > $1 ORDER BY id LIMIT $2`, after, defaultLimit(limit))
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.EventRef
	for rows.Next() {
		var r store.EventRef
		ev := &r.Event
		if err := rows.Scan(&ev.Seq, &r.IncidentID, timeCol{&ev.At}, &ev.Type, &ev.Actor, &ev.Message, dataCol{&ev.Data}); err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// LastEventSeq is the newest event's Seq.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM incident_events`).Scan(&seq); err != nil {
		return 0, s.fail("last event", err)
	}
	return seq, nil
}

// Cursor reads a consumer's position.
func (s *Store) Cursor(ctx context.Context, name string) (int64, bool, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM cursors WHERE name = $1`, name).Scan(&seq)
	if isNoRows(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.fail(fmt.Sprintf("cursor %q", name), err)
	}
	return seq, true, nil
}

// SetCursor moves a consumer's position.
func (s *Store) SetCursor(ctx context.Context, name string, seq int64) error {
	return s.inTx(ctx, fmt.Sprintf("set cursor %q", name), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO cursors (name, seq) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`, name, seq)
		return err
	})
}

// RecordMetrics stores points in one transaction; a point whose time cannot
// be stored refuses the whole batch (it could not be read back).
func (s *Store) RecordMetrics(ctx context.Context, pts []store.MetricPoint) error {
	if len(pts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, p := range pts {
		if err := checkTimes(p.At); err != nil {
			return s.fail("record metrics", fmt.Errorf("%s %s: %w", p.Service, p.Version, err))
		}
		vals, err := encSnapshot(p.Values)
		if err != nil {
			return s.fail("record metrics", err)
		}
		b.Queue(`INSERT INTO metric_points (service, version, at, requests, errors, p50_ms, p99_ms, vals)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.Service, p.Version, encTime(p.At), p.Requests, p.Errors,
			finiteOr0(p.P50Ms), finiteOr0(p.P99Ms), vals)
	}
	return s.inTx(ctx, "record metrics", func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
}

// Metrics reads a service's points in [from, to], oldest first.
func (s *Store) Metrics(ctx context.Context, service string, from, to time.Time) ([]store.MetricPoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT service, version, at, requests, errors, p50_ms, p99_ms, vals
		FROM metric_points WHERE service = $1 AND at >= $2 AND at <= $3 ORDER BY at`, service, encTime(from), encTime(to))
	if err != nil {
		return nil, s.fail("metrics", err)
	}
	defer rows.Close()
	var out []store.MetricPoint
	for rows.Next() {
		var p store.MetricPoint
		if err := rows.Scan(&p.Service, &p.Version, timeCol{&p.At}, &p.Requests, &p.Errors, &p.P50Ms, &p.P99Ms, snapshotCol{&p.Values}); err != nil {
			return nil, s.fail("metrics", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("metrics", err)
	}
	return out, nil
}

// PruneMetrics deletes points older than before.
func (s *Store) PruneMetrics(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, "prune metrics", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM metric_points WHERE at < $1`, encTime(before))
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// ChannelState reads a channel's handle for an incident ("" when none).
func (s *Store) ChannelState(ctx context.Context, channel, incidentID string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM channel_state WHERE channel = $1 AND incident_id = $2`,
		channel, incidentID).Scan(&v)
	if isNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", s.fail("channel state", err)
	}
	return v, nil
}

// SetChannelState stores a channel's handle for an incident.
func (s *Store) SetChannelState(ctx context.Context, channel, incidentID, value string) error {
	return s.inTx(ctx, "set channel state", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO channel_state (channel, incident_id, value) VALUES ($1, $2, $3)
			ON CONFLICT (channel, incident_id) DO UPDATE SET value = excluded.value`, channel, incidentID, value)
		return err
	})
}
