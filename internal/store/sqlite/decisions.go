package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/store"
)

// RecordDeployment appends a deployment and returns its ID.
func (s *Store) RecordDeployment(ctx context.Context, d store.Deployment) (int64, error) {
	if err := checkTimes(d.At); err != nil {
		return 0, fmt.Errorf("sqlite: record deployment: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO deployments (service, version, url, actor, at)
		VALUES (?, ?, ?, ?, ?)`, d.Service, d.Version, d.URL, d.Actor, encTime(d.At))
	if err != nil {
		return 0, fmt.Errorf("sqlite: record deployment: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sqlite: record deployment: %w", err)
	}
	return id, nil
}

// ListDeployments returns newest first; service "" means all services.
func (s *Store) ListDeployments(ctx context.Context, service string, limit int) ([]store.Deployment, error) {
	q, args := byService(`SELECT id, service, version, url, actor, at FROM deployments`, service, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list deployments: %w", err)
	}
	defer rows.Close()
	var out []store.Deployment
	for rows.Next() {
		var d store.Deployment
		if err := rows.Scan(&d.ID, &d.Service, &d.Version, &d.URL, &d.Actor, timeCol{&d.At}); err != nil {
			return nil, fmt.Errorf("sqlite: list deployments: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list deployments: %w", err)
	}
	return out, nil
}

// byService appends the optional service filter, newest-first order and the
// limit to a history query.
func byService(q, service string, limit int) (string, []any) {
	var args []any
	if service != "" {
		q += ` WHERE service = ?`
		args = append(args, service)
	}
	return q + ` ORDER BY id DESC LIMIT ?`, append(args, defaultLimit(limit))
}

const selectDecision = `SELECT id, service, action, from_version, to_version, reason,
	incident_id, snapshot, status, result, created_at, done_at FROM decisions`

// RecordDecision stores d as pending. Result and DoneAt are stored empty
// whatever d says: a pending decision has no outcome yet, and a restart must
// not mistake a stale one for a finished action.
func (s *Store) RecordDecision(ctx context.Context, d store.Decision) (int64, error) {
	var id int64
	err := s.inTx(ctx, "record decision", func(tx *sql.Tx) (err error) {
		id, err = recordDecision(ctx, tx, d)
		return err
	})
	return id, err
}

// Decide records d as pending and saves st in one transaction: the one
// commit between a bad verdict and the switch.
func (s *Store) Decide(ctx context.Context, d store.Decision, st store.ServiceState) (int64, error) {
	if st.Name == "" {
		return 0, errors.New("sqlite: decide: empty service name")
	}
	if err := checkServiceTimes(st); err != nil {
		return 0, fmt.Errorf("sqlite: decide: %w", err)
	}
	var id int64
	err := s.inTx(ctx, "decide", func(tx *sql.Tx) (err error) {
		if id, err = recordDecision(ctx, tx, d); err != nil {
			return err
		}
		return saveService(ctx, tx, st)
	})
	return id, err
}

// LinkDecision names the incident of a decision taken before it existed.
func (s *Store) LinkDecision(ctx context.Context, id int64, incidentID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE decisions SET incident_id = ? WHERE id = ?`, incidentID, id)
	if err != nil {
		return fmt.Errorf("sqlite: link decision %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: link decision %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func recordDecision(ctx context.Context, tx *sql.Tx, d store.Decision) (int64, error) {
	if err := checkTimes(d.CreatedAt); err != nil {
		return 0, err
	}
	snap, err := encSnapshot(d.Snapshot)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO decisions (service, action, from_version,
			to_version, reason, incident_id, snapshot, status, result, created_at, done_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)`,
		d.Service, d.Action, d.FromVersion, d.ToVersion, d.Reason, d.IncidentID, snap,
		store.DecisionPending, encTime(d.CreatedAt), encTime(time.Time{}))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// FinishDecision moves a pending decision to status. The update is
// conditional on status still being pending, so of two concurrent finishers
// exactly one succeeds; the other gets ErrAlreadyFinished.
func (s *Store) FinishDecision(ctx context.Context, id int64, status, result string, at time.Time) error {
	op := fmt.Sprintf("sqlite: finish decision %d", id)
	if status != store.DecisionDone && status != store.DecisionFailed {
		return fmt.Errorf("%s: status %q is not %q or %q", op, status, store.DecisionDone, store.DecisionFailed)
	}
	if err := checkTimes(at); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE decisions SET status = ?, result = ?, done_at = ?
		WHERE id = ? AND status = ?`, status, result, encTime(at), id, store.DecisionPending)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n == 1 {
		return nil
	}
	// Nothing changed: either no such decision or it is finished. Decisions
	// are never deleted, so this read cannot race into a wrong answer.
	var cur string
	err = s.db.QueryRowContext(ctx, `SELECT status FROM decisions WHERE id = ?`, id).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: already %s: %w", op, cur, store.ErrAlreadyFinished)
}

// PendingDecisions returns oldest first, the order they were taken in, which
// is the order a restart should complete them.
func (s *Store) PendingDecisions(ctx context.Context) ([]store.Decision, error) {
	return s.queryDecisions(ctx, "pending decisions",
		selectDecision+` WHERE status = ? ORDER BY id`, store.DecisionPending)
}

// ListDecisions returns newest first; service "" means all services.
func (s *Store) ListDecisions(ctx context.Context, service string, limit int) ([]store.Decision, error) {
	q, args := byService(selectDecision, service, limit)
	return s.queryDecisions(ctx, "list decisions", q, args...)
}

func (s *Store) queryDecisions(ctx context.Context, op, q string, args ...any) ([]store.Decision, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer rows.Close()
	var out []store.Decision
	for rows.Next() {
		var d store.Decision
		err := rows.Scan(&d.ID, &d.Service, &d.Action, &d.FromVersion, &d.ToVersion, &d.Reason,
			&d.IncidentID, snapshotCol{&d.Snapshot}, &d.Status, &d.Result,
			timeCol{&d.CreatedAt}, timeCol{&d.DoneAt})
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return out, nil
}
