package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

// EventsAfter reads the global event log past a consumer's cursor.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]store.EventRef, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, incident_id, at, type, actor, message, data
		FROM incident_events WHERE id > ? ORDER BY id LIMIT ?`, after, defaultLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: events after %d: %w", after, err)
	}
	defer rows.Close()
	var out []store.EventRef
	for rows.Next() {
		var r store.EventRef
		ev := &r.Event
		if err := rows.Scan(&ev.Seq, &r.IncidentID, timeCol{&ev.At}, &ev.Type, &ev.Actor, &ev.Message, dataCol{&ev.Data}); err != nil {
			return nil, fmt.Errorf("sqlite: events after %d: %w", after, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: events after %d: %w", after, err)
	}
	return out, nil
}

// LastEventSeq is the newest event's Seq.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM incident_events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: last event: %w", err)
	}
	return seq, nil
}

// Cursor reads a consumer's position.
func (s *Store) Cursor(ctx context.Context, name string) (int64, bool, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM cursors WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlite: cursor %q: %w", name, err)
	}
	return seq, true, nil
}

// SetCursor moves a consumer's position.
func (s *Store) SetCursor(ctx context.Context, name string, seq int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO cursors (name, seq) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`, name, seq)
	if err != nil {
		return fmt.Errorf("sqlite: set cursor %q: %w", name, err)
	}
	return nil
}

// metricRows is how many points one INSERT writes: 8 parameters each,
// well within SQLite's 32,766.
const metricRows = 256

// RecordMetrics stores points in one transaction. A point whose time
// cannot be stored is refused with the whole batch: written, it could not
// be read back, and every later Metrics call of its service would fail.
func (s *Store) RecordMetrics(ctx context.Context, pts []store.MetricPoint) error {
	if len(pts) == 0 {
		return nil
	}
	for _, p := range pts {
		if err := checkTimes(p.At); err != nil {
			return fmt.Errorf("sqlite: record metrics: %s %s: %w", p.Service, p.Version, err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: record metrics: %w", err)
	}
	defer tx.Rollback()
	// Up to metricRows points a statement: the driver starts a goroutine
	// per statement to watch ctx, and a second's points of 10,000
	// services, one statement each, made 10,000 goroutines at once (and
	// as many goroutine structs, which the runtime never frees).
	for chunk := range slices.Chunk(pts, metricRows) {
		var q strings.Builder
		q.WriteString(`INSERT INTO metric_points (service, version, at, requests, errors, p50_ms, p99_ms, vals) VALUES `)
		args := make([]any, 0, 8*len(chunk))
		for i, p := range chunk {
			vals, err := encSnapshot(p.Values)
			if err != nil {
				return fmt.Errorf("sqlite: record metrics: %w", err)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, p.Service, p.Version, encTime(p.At), p.Requests, p.Errors, finiteOr0(p.P50Ms), finiteOr0(p.P99Ms), vals)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("sqlite: record metrics: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: record metrics: %w", err)
	}
	return nil
}

// Metrics reads a service's points in [from, to].
func (s *Store) Metrics(ctx context.Context, service string, from, to time.Time) ([]store.MetricPoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT service, version, at, requests, errors, p50_ms, p99_ms, vals
		FROM metric_points WHERE service = ? AND at >= ? AND at <= ? ORDER BY at`, service, encTime(from), encTime(to))
	if err != nil {
		return nil, fmt.Errorf("sqlite: metrics: %w", err)
	}
	defer rows.Close()
	var out []store.MetricPoint
	for rows.Next() {
		var p store.MetricPoint
		if err := rows.Scan(&p.Service, &p.Version, timeCol{&p.At}, &p.Requests, &p.Errors, &p.P50Ms, &p.P99Ms, snapshotCol{&p.Values}); err != nil {
			return nil, fmt.Errorf("sqlite: metrics: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PruneMetrics deletes old points.
func (s *Store) PruneMetrics(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM metric_points WHERE at < ?`, encTime(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune metrics: %w", err)
	}
	return res.RowsAffected()
}

// finiteOr0 keeps REAL columns finite; a quantile of no requests is 0.
func finiteOr0(v float64) float64 {
	if v != v || v > 1e308 || v < -1e308 {
		return 0
	}
	return v
}

// ChannelState reads a channel's handle for an incident ("" when none).
func (s *Store) ChannelState(ctx context.Context, channel, incidentID string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM channel_state WHERE channel = ? AND incident_id = ?`, channel, incidentID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: channel state: %w", err)
	}
	return v, nil
}

// SetChannelState stores a channel's handle for an incident.
func (s *Store) SetChannelState(ctx context.Context, channel, incidentID, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO channel_state (channel, incident_id, value) VALUES (?, ?, ?)
		ON CONFLICT(channel, incident_id) DO UPDATE SET value = excluded.value`, channel, incidentID, value)
	if err != nil {
		return fmt.Errorf("sqlite: set channel state: %w", err)
	}
	return nil
}
