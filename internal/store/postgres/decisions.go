package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/store"
)

// RecordDeployment appends a deployment and returns its ID.
func (s *Store) RecordDeployment(ctx context.Context, d store.Deployment) (int64, error) {
	if err := checkTimes(d.At); err != nil {
		return 0, s.fail("record deployment", err)
	}
	var id int64
	err := s.inTx(ctx, "record deployment", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO deployments (service, version, url, actor, at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, d.Service, d.Version, d.URL, d.Actor, encTime(d.At)).Scan(&id)
	})
	return id, err
}

// ListDeployments returns newest first; service "" means all services.
func (s *Store) ListDeployments(ctx context.Context, service string, limit int) ([]store.Deployment, error) {
	q, args := byService(`SELECT id, service, version, url, actor, at FROM deployments`, service, limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail("list deployments", err)
	}
	defer rows.Close()
	var out []store.Deployment
	for rows.Next() {
		var d store.Deployment
		if err := rows.Scan(&d.ID, &d.Service, &d.Version, &d.URL, &d.Actor, timeCol{&d.At}); err != nil {
			return nil, s.fail("list deployments", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list deployments", err)
	}
	return out, nil
}

// byService appends the optional service filter, newest-first order and
// the limit to a history query.
func byService(q, service string, limit int) (string, []any) {
	var args []any
	if service != "" {
		q += ` WHERE service = $1`
		args = append(args, service)
	}
	args = append(args, defaultLimit(limit))
	return q + ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args)), args
}

const selectDecision = `SELECT id, service, action, from_version, to_version, reason,
	incident_id, snapshot, status, result, created_at, done_at FROM decisions`

// RecordDecision stores d as pending, with no result and no DoneAt.
func (s *Store) RecordDecision(ctx context.Context, d store.Decision) (int64, error) {
	var id int64
	err := s.inTx(ctx, "record decision", func(tx pgx.Tx) (err error) {
		id, err = recordDecision(ctx, tx, d)
		return err
	})
	return id, err
}

// Decide records d as pending and saves st in one transaction.
func (s *Store) Decide(ctx context.Context, d store.Decision, st store.ServiceState) (int64, error) {
	if st.Name == "" {
		return 0, errors.New("postgres: decide: empty service name")
	}
	if err := checkServiceTimes(st); err != nil {
		return 0, s.fail("decide", err)
	}
	var id int64
	err := s.inTx(ctx, "decide", func(tx pgx.Tx) (err error) {
		if id, err = recordDecision(ctx, tx, d); err != nil {
			return err
		}
		return saveService(ctx, tx, st)
	})
	return id, err
}

// LinkDecision names the incident of a decision taken before it existed.
func (s *Store) LinkDecision(ctx context.Context, id int64, incidentID string) error {
	op := fmt.Sprintf("link decision %d", id)
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE decisions SET incident_id = $1 WHERE id = $2`, incidentID, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = store.ErrNotFound
		}
		return err
	})
}

func recordDecision(ctx context.Context, tx pgx.Tx, d store.Decision) (int64, error) {
	if err := checkTimes(d.CreatedAt); err != nil {
		return 0, err
	}
	snap, err := encSnapshot(d.Snapshot)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO decisions (service, action, from_version,
			to_version, reason, incident_id, snapshot, status, result, created_at, done_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, $10) RETURNING id`,
		d.Service, d.Action, d.FromVersion, d.ToVersion, d.Reason, d.IncidentID, snap,
		store.DecisionPending, encTime(d.CreatedAt), encTime(time.Time{})).Scan(&id)
	return id, err
}

// FinishDecision moves a pending decision to status. The update is
// conditional on status still being pending; under read committed a second
// finisher waits for the first to commit, re-reads the row and matches
// nothing, so exactly one succeeds.
func (s *Store) FinishDecision(ctx context.Context, id int64, status, result string, at time.Time) error {
	op := fmt.Sprintf("finish decision %d", id)
	if status != store.DecisionDone && status != store.DecisionFailed {
		return s.fail(op, fmt.Errorf("status %q is not %q or %q", status, store.DecisionDone, store.DecisionFailed))
	}
	if err := checkTimes(at); err != nil {
		return s.fail(op, err)
	}
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE decisions SET status = $1, result = $2, done_at = $3
			WHERE id = $4 AND status = $5`, status, result, encTime(at), id, store.DecisionPending)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		// Decisions are never deleted, so this read cannot race into a
		// wrong answer.
		var cur string
		if err := tx.QueryRow(ctx, `SELECT status FROM decisions WHERE id = $1`, id).Scan(&cur); err != nil {
			if isNoRows(err) {
				return store.ErrNotFound
			}
			return err
		}
		return fmt.Errorf("already %s: %w", cur, store.ErrAlreadyFinished)
	})
}

// PendingDecisions returns oldest first.
func (s *Store) PendingDecisions(ctx context.Context) ([]store.Decision, error) {
	return s.queryDecisions(ctx, "pending decisions",
		selectDecision+` WHERE status = $1 ORDER BY id`, store.DecisionPending)
}

// ListDecisions returns newest first; service "" means all services.
func (s *Store) ListDecisions(ctx context.Context, service string, limit int) ([]store.Decision, error) {
	q, args := byService(selectDecision, service, limit)
	return s.queryDecisions(ctx, "list decisions", q, args...)
}

func (s *Store) queryDecisions(ctx context.Context, op, q string, args ...any) ([]store.Decision, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []store.Decision
	for rows.Next() {
		var d store.Decision
		err := rows.Scan(&d.ID, &d.Service, &d.Action, &d.FromVersion, &d.ToVersion, &d.Reason,
			&d.IncidentID, snapshotCol{&d.Snapshot}, &d.Status, &d.Result,
			timeCol{&d.CreatedAt}, timeCol{&d.DoneAt})
		if err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}
