package app

import (
	"context"
	"fmt"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/postgres"
	"github.com/ripcord/ripcord/internal/store/sqlite"
)

// openStore opens the store store.url's scheme selects: PostgreSQL for
// postgres:// (or a url_file), SQLite otherwise (the default). sqlitePath
// is the database file ("" for PostgreSQL), beside which the local admin
// token is kept. Errors name the store as Display shows it: never the
// password.
func openStore(ctx context.Context, s config.Store, baseDir string) (st store.Store, sqlitePath string, err error) {
	if s.Kind() == config.StorePostgres {
		raw, err := s.PostgresURL(baseDir)
		if err != nil {
			return nil, "", fmt.Errorf("app: store.url: %w", err)
		}
		pg, err := postgres.Open(ctx, raw)
		if err != nil {
			return nil, "", fmt.Errorf("app: open store %s: %w", s.Display(), err)
		}
		return pg, "", nil
	}
	path, err := s.SQLitePath(baseDir)
	if err != nil {
		return nil, "", fmt.Errorf("app: store.url: %w", err)
	}
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, "", fmt.Errorf("app: open store: %w", err)
	}
	return lite, path, nil
}
