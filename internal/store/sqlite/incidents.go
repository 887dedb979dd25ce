package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// incidentID formats the public ID. Four digits keep early IDs short; the
// sequence simply grows wider past 9999 rather than wrapping.
func incidentID(seq int64) string { return fmt.Sprintf("INC-%04d", seq) }

const selectIncident = `SELECT id, service, kind, severity, status, title, reason,
	from_version, to_version, impact_started_at, detected_at, rollback_started_at,
	mitigated_at, resolved_at, created_at, updated_at, installation FROM incidents`

// CreateIncident allocates the next sequence number and inserts the incident
// and its events in one write transaction. The transaction takes the write
// lock at BEGIN (_txlock=immediate), so no other writer, in this process or
// another, can read the same MAX(seq) in between.
func (s *Store) CreateIncident(ctx context.Context, inc incident.Incident) (string, error) {
	if err := checkIncident(inc); err != nil {
		return "", fmt.Errorf("sqlite: create incident: %w", err)
	}
	var id string
	err := s.inTx(ctx, "create incident", func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM incidents`).Scan(&seq); err != nil {
			return err
		}
		id = incidentID(seq)
		_, err := tx.ExecContext(ctx, `INSERT INTO incidents (seq, id, service, kind,
				severity, status, title, reason, from_version, to_version,
				impact_started_at, detected_at, rollback_started_at, mitigated_at,
				resolved_at, created_at, updated_at, installation)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT id FROM installation))`,
			seq, id, inc.Service, string(inc.Kind), string(inc.Severity), string(inc.Status),
			inc.Title, inc.Reason, inc.FromVersion, inc.ToVersion,
			encTime(inc.ImpactStartedAt), encTime(inc.DetectedAt), encTime(inc.RollbackStartedAt),
			encTime(inc.MitigatedAt), encTime(inc.ResolvedAt), encTime(inc.CreatedAt),
			encTime(inc.UpdatedAt))
		if err != nil {
			return err
		}
		for i, ev := range inc.Events {
			if err := insertEvent(ctx, tx, id, ev); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

func checkIncident(inc incident.Incident) error {
	if err := checkTimes(inc.ImpactStartedAt, inc.DetectedAt, inc.RollbackStartedAt,
		inc.MitigatedAt, inc.ResolvedAt, inc.CreatedAt, inc.UpdatedAt); err != nil {
		return err
	}
	for i, ev := range inc.Events {
		if err := checkTimes(ev.At); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

// UpdateIncident reads the row, lets fn change it and writes it back with
// the new events, in one write transaction. The transaction takes the write
// lock at BEGIN (_txlock=immediate), so no writer in this or another process
// can change the row between the read and the write.
func (s *Store) UpdateIncident(ctx context.Context, id string, fn func(*incident.Incident) error, evs ...incident.Event) error {
	return s.inTx(ctx, fmt.Sprintf("update incident %q", id), func(tx *sql.Tx) error {
		var inc incident.Incident
		if err := scanIncident(tx.QueryRowContext(ctx, selectIncident+` WHERE id = ?`, id), &inc); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		before := inc.Status
		if err := fn(&inc); err != nil {
			return err
		}
		if inc.Status != before && !incident.ValidTransition(before, inc.Status) {
			return fmt.Errorf("%w: %s is %s; it cannot move to %s", store.ErrInvalidTransition, id, before, inc.Status)
		}
		all := append(slices.Clip(evs), inc.Events...)
		inc.Events = all
		if err := checkIncident(inc); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE incidents SET severity = ?, status = ?,
				title = ?, reason = ?, from_version = ?, to_version = ?,
				impact_started_at = ?, detected_at = ?, rollback_started_at = ?,
				mitigated_at = ?, resolved_at = ?, updated_at = ?
			WHERE id = ?`,
			string(inc.Severity), string(inc.Status), inc.Title, inc.Reason, inc.FromVersion,
			inc.ToVersion, encTime(inc.ImpactStartedAt), encTime(inc.DetectedAt),
			encTime(inc.RollbackStartedAt), encTime(inc.MitigatedAt), encTime(inc.ResolvedAt),
			encTime(inc.UpdatedAt), id)
		if err != nil {
			return err
		}
		for i, ev := range all {
			if err := insertEvent(ctx, tx, id, ev); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
		}
		return nil
	})
}

// AppendEvent adds ev to the end of the incident's timeline.
func (s *Store) AppendEvent(ctx context.Context, id string, ev incident.Event) error {
	op := fmt.Sprintf("sqlite: append event to %q", id)
	if err := checkTimes(ev.At); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	// A single statement, outside a transaction: insertEvent inserts nothing
	// for an unknown incident, which is the not-found signal.
	err := insertEvent(ctx, s.db, id, ev)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// insertEvent inserts ev only if incident id exists, returning ErrNotFound
// otherwise (rather than a foreign key error that callers cannot test for).
func insertEvent(ctx context.Context, db execer, id string, ev incident.Event) error {
	data, err := encData(ev.Data)
	if err != nil {
		return err
	}
	res, err := db.ExecContext(ctx, `INSERT INTO incident_events
			(incident_id, at, type, actor, message, data)
		SELECT id, ?, ?, ?, ?, ? FROM incidents WHERE id = ?`,
		encTime(ev.At), ev.Type, ev.Actor, ev.Message, data, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// GetIncident reads the incident and its timeline in one read transaction,
// so the timeline matches the incident row it is returned with.
func (s *Store) GetIncident(ctx context.Context, id string) (incident.Incident, error) {
	var inc incident.Incident
	err := s.readTx(ctx, fmt.Sprintf("get incident %q", id), func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, selectIncident+` WHERE id = ?`, id)
		if err := scanIncident(row, &inc); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		evs, err := loadEvents(ctx, tx, id)
		inc.Events = evs
		return err
	})
	if err != nil {
		return incident.Incident{}, err
	}
	return inc, nil
}

func loadEvents(ctx context.Context, tx *sql.Tx, id string) ([]incident.Event, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, at, type, actor, message, data
		FROM incident_events WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []incident.Event
	for rows.Next() {
		var ev incident.Event
		if err := rows.Scan(&ev.Seq, timeCol{&ev.At}, &ev.Type, &ev.Actor, &ev.Message, dataCol{&ev.Data}); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// ListIncidents returns newest (most recently created) first, without
// timelines.
func (s *Store) ListIncidents(ctx context.Context, f store.IncidentFilter) ([]incident.Incident, error) {
	var where []string
	var args []any
	if f.Service != "" {
		where, args = append(where, `service = ?`), append(args, f.Service)
	}
	if f.OpenOnly {
		where, args = append(where, `status <> ?`), append(args, string(incident.Resolved))
	}
	if f.Kind != "" {
		where, args = append(where, `kind = ?`), append(args, string(f.Kind))
	}
	q := selectIncident
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, defaultLimit(f.Limit))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list incidents: %w", err)
	}
	defer rows.Close()
	var out []incident.Incident
	for rows.Next() {
		var inc incident.Incident
		if err := scanIncident(rows, &inc); err != nil {
			return nil, fmt.Errorf("sqlite: list incidents: %w", err)
		}
		out = append(out, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list incidents: %w", err)
	}
	return out, nil
}

func scanIncident(r scanner, inc *incident.Incident) error {
	return r.Scan(&inc.ID, &inc.Service, &inc.Kind, &inc.Severity, &inc.Status, &inc.Title,
		&inc.Reason, &inc.FromVersion, &inc.ToVersion, timeCol{&inc.ImpactStartedAt},
		timeCol{&inc.DetectedAt}, timeCol{&inc.RollbackStartedAt}, timeCol{&inc.MitigatedAt},
		timeCol{&inc.ResolvedAt}, timeCol{&inc.CreatedAt}, timeCol{&inc.UpdatedAt}, &inc.Installation)
}

// InstallationID is this database's installation id (see schemaV4).
func (s *Store) InstallationID(ctx context.Context) (string, error) {
	var id string
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM installation`).Scan(&id); err != nil {
		return "", fmt.Errorf("sqlite: installation id: %w", err)
	}
	return id, nil
}
