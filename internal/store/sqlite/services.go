package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ripcord/ripcord/internal/store"
)

const selectService = `SELECT name, active, state, paused, watch_since, cooldown_until,
	incident_id, fallbacks, updated_at, canary FROM services`

// SaveService upserts the service row and rewrites its version list in one
// transaction, so a crash never leaves a state with a half-written list.
func (s *Store) SaveService(ctx context.Context, st store.ServiceState) error {
	op := fmt.Sprintf("save service %q", st.Name)
	if st.Name == "" {
		return errors.New("sqlite: save service: empty name")
	}
	if err := checkServiceTimes(st); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error { return saveService(ctx, tx, st) })
}

// SaveServices is SaveService for many services in one transaction.
func (s *Store) SaveServices(ctx context.Context, states []store.ServiceState) error {
	for _, st := range states {
		if st.Name == "" {
			return errors.New("sqlite: save services: empty name")
		}
		if err := checkServiceTimes(st); err != nil {
			return fmt.Errorf("sqlite: save service %q: %w", st.Name, err)
		}
	}
	return s.inTx(ctx, fmt.Sprintf("save %d services", len(states)), func(tx *sql.Tx) error {
		for _, st := range states {
			if err := saveService(ctx, tx, st); err != nil {
				return fmt.Errorf("service %q: %w", st.Name, err)
			}
		}
		return nil
	})
}

var _ store.ServicesSaver = (*Store)(nil)

// saveService writes the service row and its version list within tx.
func saveService(ctx context.Context, tx *sql.Tx, st store.ServiceState) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO services (name, active, state, paused,
			watch_since, cooldown_until, incident_id, fallbacks, updated_at, canary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
	if _, err := tx.ExecContext(ctx, `DELETE FROM versions WHERE service = ?`, st.Name); err != nil {
		return err
	}
	for i, v := range st.Versions {
		_, err := tx.ExecContext(ctx, `INSERT INTO versions (service, position, name, url,
				known_bad, bad_reason, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			st.Name, i, v.Name, v.URL, v.KnownBad, v.BadReason, encTime(v.AddedAt))
		if err != nil {
			return fmt.Errorf("version %q: %w", v.Name, err)
		}
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

// LoadService reads the row and its versions in one read transaction so a
// concurrent SaveService cannot be seen half-applied.
func (s *Store) LoadService(ctx context.Context, name string) (store.ServiceState, error) {
	var st store.ServiceState
	err := s.readTx(ctx, fmt.Sprintf("load service %q", name), func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, selectService+` WHERE name = ?`, name)
		if err := scanService(row, &st); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
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

// ListServices returns every service ordered by name, with versions.
func (s *Store) ListServices(ctx context.Context) ([]store.ServiceState, error) {
	var out []store.ServiceState
	err := s.readTx(ctx, "list services", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, selectService+` ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st store.ServiceState
			if err := scanService(rows, &st); err != nil {
				return err
			}
			out = append(out, st)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close() // free the connection's statement before the next query
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

// encCanary stores a canary as JSON, and none as an empty string.
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

// loadVersions returns the versions of one service, or of all services when
// service is "", keyed by service name, each list oldest first.
func loadVersions(ctx context.Context, tx *sql.Tx, service string) (map[string][]store.Version, error) {
	q := `SELECT service, name, url, known_bad, bad_reason, added_at FROM versions`
	var args []any
	if service != "" {
		q += ` WHERE service = ?`
		args = append(args, service)
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY service, position`, args...)
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
