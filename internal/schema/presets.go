package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// readGolangMigrate reads golang-migrate's one-row schema_migrations.
func readGolangMigrate(ctx context.Context, db *sql.DB) (Version, error) {
	var version int64
	var dirty bool
	err := db.QueryRowContext(ctx, "SELECT version, dirty FROM schema_migrations LIMIT 1").Scan(&version, &dirty)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, fmt.Errorf("%w: schema_migrations is empty", ErrNoVersion)
	}
	if err != nil {
		return Version{}, hint(err, "schema_migrations")
	}
	if dirty {
		return Version{}, fmt.Errorf("%w: schema_migrations says version %d is dirty (a migration failed halfway): the live schema is unknown; repair the database and run migrate force, ripcord will not guess", ErrDirty, version)
	}
	return ParseVersion(strconv.FormatInt(version, 10))
}

// readGoose reads goose_db_version as goose itself does: newest row
// first, the first applied version not rolled back later.
func readGoose(ctx context.Context, db *sql.DB) (Version, error) {
	rows, err := db.QueryContext(ctx, "SELECT version_id, is_applied FROM goose_db_version ORDER BY id DESC")
	if err != nil {
		return Version{}, hint(err, "goose_db_version")
	}
	defer rows.Close()
	rolledBack := map[int64]bool{}
	for rows.Next() {
		var id int64
		var applied bool
		if err := rows.Scan(&id, &applied); err != nil {
			return Version{}, err
		}
		if rolledBack[id] {
			continue
		}
		if applied {
			return ParseVersion(strconv.FormatInt(id, 10))
		}
		rolledBack[id] = true
	}
	if err := rows.Err(); err != nil {
		return Version{}, err
	}
	return Version{}, fmt.Errorf("%w: goose_db_version has no applied version", ErrNoVersion)
}

// readFlyway replays flyway_schema_history in installed_rank order: each
// successful versioned migration adds its version, a successful undo
// removes it; the live version is the highest left, compared as dotted
// numbers (text order would put 1.10 before 1.9). A failed migration not
// since applied leaves the schema half-migrated.
func readFlyway(ctx context.Context, db *sql.DB) (Version, error) {
	rows, err := db.QueryContext(ctx, "SELECT version, type, success FROM flyway_schema_history ORDER BY installed_rank")
	if err != nil {
		return Version{}, hint(err, "flyway_schema_history")
	}
	defer rows.Close()
	applied, failed := map[string]Version{}, map[string]bool{}
	for rows.Next() {
		var raw sql.NullString
		var typ string
		var success bool
		if err := rows.Scan(&raw, &typ, &success); err != nil {
			return Version{}, err
		}
		if !raw.Valid || raw.String == "" || typ == "DELETE" {
			continue // repeatable migrations have no version
		}
		v, err := ParseVersion(raw.String)
		if err != nil {
			return Version{}, fmt.Errorf("flyway_schema_history: %w", err)
		}
		key := canonical(v)
		switch {
		case !success:
			failed[key] = true
		case strings.HasPrefix(typ, "UNDO"):
			delete(applied, key)
		default:
			applied[key], failed[key] = v, false
		}
	}
	if err := rows.Err(); err != nil {
		return Version{}, err
	}
	for k, f := range failed {
		if f {
			return Version{}, fmt.Errorf("%w: flyway_schema_history records a failed migration to %s: the live schema is unknown; fix it and run flyway repair, ripcord will not guess", ErrDirty, k)
		}
	}
	var top Version
	for _, v := range applied {
		if top.IsZero() || v.Compare(top) > 0 {
			top = v
		}
	}
	if top.IsZero() {
		return Version{}, fmt.Errorf("%w: flyway_schema_history has no successful versioned migration", ErrNoVersion)
	}
	return top, nil
}

// canonical keys a version by its numbers, so 1.1 and 1_1 are one.
func canonical(v Version) string {
	s := make([]string, len(v.parts))
	for i, p := range v.parts {
		s[i] = strconv.FormatUint(p, 10)
	}
	return strings.Join(s, ".")
}

// readQuery runs the configured query: first column the version, an
// optional second column a dirty flag.
func readQuery(ctx context.Context, db *sql.DB, query string) (Version, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return Version{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Version{}, err
	}
	if len(cols) < 1 || len(cols) > 2 {
		return Version{}, fmt.Errorf("query returns %d columns: want the version, and optionally a dirty flag", len(cols))
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Version{}, err
		}
		return Version{}, fmt.Errorf("%w: the query returned no row", ErrNoVersion)
	}
	var raw sql.NullString
	var dirty sql.NullBool
	dest := []any{&raw, &dirty}[:len(cols)]
	if err := rows.Scan(dest...); err != nil {
		return Version{}, err
	}
	switch {
	case !raw.Valid:
		return Version{}, fmt.Errorf("%w: the query returned NULL", ErrNoVersion)
	case dirty.Valid && dirty.Bool:
		return Version{}, fmt.Errorf("%w: the query reports version %s dirty: the live schema is unknown, ripcord will not guess", ErrDirty, raw.String)
	}
	return ParseVersion(raw.String)
}

// hint adds what a missing bookkeeping table usually means.
func hint(err error, table string) error {
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist") || strings.Contains(msg, "42p01") {
		return fmt.Errorf("table %s is missing (wrong preset, wrong database, or no migration has run yet?): %w", table, err)
	}
	return err
}
