package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// incidentID formats the public ID, as the SQLite store does.
func incidentID(seq int64) string { return fmt.Sprintf("INC-%04d", seq) }

const selectIncident = `SELECT id, service, kind, severity, status, title, reason,
	from_version, to_version, impact_started_at, detected_at, rollback_started_at,
	mitigated_at, resolved_at, created_at, updated_at, installation FROM incidents`

// CreateIncident allocates the next sequence number and inserts the
// incident and its events under eventLogLock, so no other creator reads
// the same MAX(seq) and the events keep commit order.
func (s *Store) CreateIncident(ctx context.Context, inc incident.Incident) (string, error) {
	if err := checkIncident(inc); err != nil {
		return "", s.fail("create incident", err)
	}
	var id string
	err := s.inTx(ctx, "create incident", func(tx pgx.Tx) error {
		if err := lockEventLog(ctx, tx); err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM incidents`).Scan(&seq); err != nil {
			return err
		}
		id = incidentID(seq)
		_, err := tx.Exec(ctx, `INSERT INTO incidents (seq, id, service, kind,
				severity, status, title, reason, from_version, to_version,
				impact_started_at, detected_at, rollback_started_at, mitigated_at,
				resolved_at, created_at, updated_at, installation)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
				(SELECT id FROM installation))`,
			seq, id, inc.Service, string(inc.Kind), string(inc.Severity), string(inc.Status),
			inc.Title, inc.Reason, inc.FromVersion, inc.ToVersion,
			encTime(inc.ImpactStartedAt), encTime(inc.DetectedAt), encTime(inc.RollbackStartedAt),
			encTime(inc.MitigatedAt), encTime(inc.ResolvedAt), encTime(inc.CreatedAt),
			encTime(inc.UpdatedAt))
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, id, inc.Events)
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

// UpdateIncident reads the row FOR UPDATE, lets fn change it and writes it
// back with the new events, in one transaction holding eventLogLock.
func (s *Store) UpdateIncident(ctx context.Context, id string, fn func(*incident.Incident) error, evs ...incident.Event) error {
	return s.inTx(ctx, fmt.Sprintf("update incident %q", id), func(tx pgx.Tx) error {
		// The event lock first, in every writer, so two writers never hold
		// the row and the lock in opposite orders.
		if err := lockEventLog(ctx, tx); err != nil {
			return err
		}
		var inc incident.Incident
		if err := scanIncident(tx.QueryRow(ctx, selectIncident+` WHERE id = $1 FOR UPDATE`, id), &inc); err != nil {
			if isNoRows(err) {
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
		_, err := tx.Exec(ctx, `UPDATE incidents SET severity = $1, status = $2,
				title = $3, reason = $4, from_version = $5, to_version = $6,
				impact_started_at = $7, detected_at = $8, rollback_started_at = $9,
				mitigated_at = $10, resolved_at = $11, updated_at = $12
			WHERE id = $13`,
			string(inc.Severity), string(inc.Status), inc.Title, inc.Reason, inc.FromVersion,
			inc.ToVersion, encTime(inc.ImpactStartedAt), encTime(inc.DetectedAt),
			encTime(inc.RollbackStartedAt), encTime(inc.MitigatedAt), encTime(inc.ResolvedAt),
			encTime(inc.UpdatedAt), id)
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, id, all)
	})
}

// AppendEvent adds ev to the end of the incident's timeline.
func (s *Store) AppendEvent(ctx context.Context, id string, ev incident.Event) error {
	op := fmt.Sprintf("append event to %q", id)
	if err := checkTimes(ev.At); err != nil {
		return s.fail(op, err)
	}
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		if err := lockEventLog(ctx, tx); err != nil {
			return err
		}
		return insertEvent(ctx, tx, id, ev)
	})
}

func insertEvents(ctx context.Context, tx pgx.Tx, id string, evs []incident.Event) error {
	for i, ev := range evs {
		if err := insertEvent(ctx, tx, id, ev); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

// insertEvent inserts ev only if incident id exists, returning ErrNotFound
// otherwise (rather than a foreign key error callers cannot test for).
func insertEvent(ctx context.Context, tx pgx.Tx, id string, ev incident.Event) error {
	data, err := encData(ev.Data)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO incident_events (incident_id, at, type, actor, message, data)
		SELECT id, $1, $2, $3, $4, $5 FROM incidents WHERE id = $6`,
		encTime(ev.At), ev.Type, ev.Actor, ev.Message, data, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// GetIncident reads the incident and its timeline in one snapshot.
func (s *Store) GetIncident(ctx context.Context, id string) (incident.Incident, error) {
	var inc incident.Incident
	err := s.readTx(ctx, fmt.Sprintf("get incident %q", id), func(tx pgx.Tx) error {
		if err := scanIncident(tx.QueryRow(ctx, selectIncident+` WHERE id = $1`, id), &inc); err != nil {
			if isNoRows(err) {
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

func loadEvents(ctx context.Context, tx pgx.Tx, id string) ([]incident.Event, error) {
	rows, err := tx.Query(ctx, `SELECT id, at, type, actor, message, data
		FROM incident_events WHERE incident_id = $1 ORDER BY id`, id)
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
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Service != "" {
		where = append(where, `service = `+arg(f.Service))
	}
	if f.OpenOnly {
		where = append(where, `status <> `+arg(string(incident.Resolved)))
	}
	if f.Kind != "" {
		where = append(where, `kind = `+arg(string(f.Kind)))
	}
	q := selectIncident
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY seq DESC LIMIT ` + arg(defaultLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail("list incidents", err)
	}
	defer rows.Close()
	var out []incident.Incident
	for rows.Next() {
		var inc incident.Incident
		if err := scanIncident(rows, &inc); err != nil {
			return nil, s.fail("list incidents", err)
		}
		out = append(out, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list incidents", err)
	}
	return out, nil
}

func scanIncident(r scanner, inc *incident.Incident) error {
	return r.Scan(&inc.ID, &inc.Service, &inc.Kind, &inc.Severity, &inc.Status, &inc.Title,
		&inc.Reason, &inc.FromVersion, &inc.ToVersion, timeCol{&inc.ImpactStartedAt},
		timeCol{&inc.DetectedAt}, timeCol{&inc.RollbackStartedAt}, timeCol{&inc.MitigatedAt},
		timeCol{&inc.ResolvedAt}, timeCol{&inc.CreatedAt}, timeCol{&inc.UpdatedAt}, &inc.Installation)
}

// InstallationID is this database's installation id, generated by the
// first migration.
func (s *Store) InstallationID(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM installation`).Scan(&id); err != nil {
		return "", s.fail("installation id", err)
	}
	return id, nil
}
