package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ripcord/ripcord/internal/store"
)

const selectService = `SELECT name, active, state, paused, watch_since, cooldown_until,
	incident_id, fallbacks, updated_at, canary FROM services`

// SaveService upserts the service row and rewrites its version list in one
// transaction, so a crash never leaves a half-written list.
func (s *Store) SaveService(ctx context.Context, st store.ServiceState) error {
	if st.Name == "" {
		return errors.New("postgres: save service: empty name")
	}
	op := fmt.Sprintf("save service %q", st.Name)
	if err := checkServiceTimes(st); err != nil {
		return s.fail(op, err)
	}
	return s.inTx(ctx, op, func(tx pgx.Tx) error { return saveService(ctx, tx, st) })
}

// SaveServices is SaveService for many services in one transaction.
func (s *Store) SaveServices(ctx context.Context, states []store.ServiceState) error {
	op := fmt.Sprintf("save %d services", len(states))
	for _, st := range states {
		if st.Name == "" {
			return errors.New("postgres: save services: empty name")
		}
		if err := checkServiceTimes(st); err != nil {
			return s.fail(op, fmt.Errorf("service %q: %w", st.Name, err))
		}
	}
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		for _, st := range states {
			if err := saveService(ctx, tx, st); err != nil {
				return fmt.Errorf("service %q: %w", st.Name, err)
			}
		}
		return nil
	})
}

var _ store.ServicesSaver = (*Store)(nil)

func saveService(ctx context.Context, tx pgx.Tx, st store.ServiceState) error {
	// Replicas following the active version (Listen) hear of the change
	// when, and only if, this transaction commits.
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ServiceChannel, st.Name); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO services (name, active, state, paused,
			watch_since, cooldown_until, incident_id, fallbacks, updated_at, canary)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (name) DO UPDATE SET active = excluded.active,
			state = excluded.state, paused = excluded.paused,
			watch_since = excluded.watch_since, cooldown_until = excluded.cooldown_until,
			incident_id = excluded.incident_id, fallbacks = excluded.fallbacks,
			updated_at = excluded.updated_at, canary = excluded.canary`,
		st.Name, st.Active, st.State, st.Paused, encTime(st.WatchSince),
		encTime(st.CooldownUntil), st.IncidentID, st.Fallbacks, encTime(st.UpdatedAt), encCanary(st.Canary))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM versions WHERE service = $1`, st.Name); err != nil {
		return err
	}
	if len(st.Versions) == 0 {
		return nil
	}
	// One round trip for the whole list.
	b := &pgx.Batch{}
	for i, v := range st.Versions {
		b.Queue(`INSERT INTO versions (service, position, name, url, known_bad, bad_reason, added_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			st.Name, i, v.Name, v.URL, v.KnownBad, v.BadReason, encTime(v.AddedAt))
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	return nil
}

func checkServiceTimes(st store.ServiceState) error {
	if err := checkTimes(st.WatchSince, st.CooldownUntil, st.UpdatedAt, st.Canary.Since); err != nil {
		return err
	}
	for _, v := range st.Versions {
		if err := checkTimes(v.AddedAt); err != nil {
			return fmt.Errorf("version %q: %w", v.Name, err)
		}
	}
	return nil
}

// LoadService reads the row and its versions in one snapshot.
func (s *Store) LoadService(ctx context.Context, name string) (store.ServiceState, error) {
	var st store.ServiceState
	err := s.readTx(ctx, fmt.Sprintf("load service %q", name), func(tx pgx.Tx) error {
		if err := scanService(tx.QueryRow(ctx, selectService+` WHERE name = $1`, name), &st); err != nil {
			if isNoRows(err) {
				return store.ErrNotFound
			}
			return err
		}
		vs, err := loadVersions(ctx, tx, name)
		st.Versions = vs[name]
		return err
	})
	if err != nil {
		return store.ServiceState{}, err
	}
	return st, nil
}

// ListServices returns every service ordered by name (bytewise, as SQLite).
func (s *Store) ListServices(ctx context.Context) ([]store.ServiceState, error) {
	var out []store.ServiceState
	err := s.readTx(ctx, "list services", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, selectService+` ORDER BY name`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var st store.ServiceState
			if err := scanService(rows, &st); err != nil {
				rows.Close()
				return err
			}
			out = append(out, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		vs, err := loadVersions(ctx, tx, "")
		for i := range out {
			out[i].Versions = vs[out[i].Name]
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanService(r scanner, st *store.ServiceState) error {
	var canary string
	if err := r.Scan(&st.Name, &st.Active, &st.State, &st.Paused, timeCol{&st.WatchSince},
		timeCol{&st.CooldownUntil}, &st.IncidentID, &st.Fallbacks, timeCol{&st.UpdatedAt}, &canary); err != nil {
		return err
	}
	return decCanary(canary, &st.Canary)
}

// encCanary stores a canary as JSON, and none as an empty string (as the SQLite store).
func encCanary(c store.Canary) string {
	if c == (store.Canary{}) {
		return ""
	}
	c.Since = c.Since.UTC()
	b, _ := json.Marshal(c) // strings, an int and a time: cannot fail
	return string(b)
}

func decCanary(s string, c *store.Canary) error {
	*c = store.Canary{}
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), c); err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	return nil
}

// loadVersions returns the versions of one service, or of all when service
// is "", keyed by service, each list oldest first.
func loadVersions(ctx context.Context, tx pgx.Tx, service string) (map[string][]store.Version, error) {
	q := `SELECT service, name, url, known_bad, bad_reason, added_at FROM versions`
	var args []any
	if service != "" {
		q += ` WHERE service = $1`
		args = append(args, service)
	}
	rows, err := tx.Query(ctx, q+` ORDER BY service, position`, args...)
	if err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	defer rows.Close()
	out := map[string][]store.Version{}
	for rows.Next() {
		var svc string
		var v store.Version
		if err := rows.Scan(&svc, &v.Name, &v.URL, &v.KnownBad, &v.BadReason, timeCol{&v.AddedAt}); err != nil {
			return nil, fmt.Errorf("versions: %w", err)
		}
		out[svc] = append(out[svc], v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	return out, nil
}
