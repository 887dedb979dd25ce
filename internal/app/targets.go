package app

import (
	"context"
	"fmt"
	"os"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/lazylog"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/exec"
	"github.com/ripcord/ripcord/internal/revert/file"
	"github.com/ripcord/ripcord/internal/revert/mlflow"
	"github.com/ripcord/ripcord/internal/revert/webhook"
	"github.com/ripcord/ripcord/internal/schema"
)

// The revert targets beyond Kubernetes: a model registry (mlflow), whose
// versions are discovered, and three that revert by name a list of
// versions given in the file (file, exec, webhook).

// listedTarget wires a target that takes its versions from the file.
func listedTarget[C any, P config.Validator[C]](name string, build func(a *App, ctx context.Context, sc *config.Service, c C, progress func(string)) (revert.Target, error)) targetKind {
	k := revertTarget[C, P](name, build)
	k.listsVersions = true
	return k
}

// mlflowTarget builds the MLflow target: it checks at start-up that the
// model and alias exist (an alias that does not is an error naming it),
// fills sc.Versions from the registry (oldest first, each with the schema
// range its ripcord.dev/schema-min and -max tags declare) and sc.Active
// from the alias, and polls the alias for moves made outside ripcord.
func (a *App) mlflowTarget(ctx context.Context, sc *config.Service, c mlflow.Config, _ func(string)) (revert.Target, error) {
	c = c.WithDefaults()
	log := lazylog.With(a.log, "component", "mlflow", "service", sc.Name)
	t, err := mlflow.New(c, mlflow.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if err := t.Check(ctx); err != nil {
		return nil, err
	}
	vs, err := t.Versions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the versions of %s: %w", c.Model, err)
	}
	// Poll, not Current: the version read here is what the watcher
	// compares with, so a move made before its first poll is still a move.
	cur, _, err := t.Poll(ctx)
	if err != nil {
		return nil, err
	}
	sc.Versions = nil
	for _, v := range vs {
		if !v.Ready() && v.Version != cur {
			continue // never a revert target
		}
		min, max := v.SchemaRange()
		sc.Versions = append(sc.Versions, config.Version{Name: v.Version, Schema: config.SchemaRange{Min: min, Max: max}})
	}
	sc.Active = cur
	name := sc.Name
	a.pollers = append(a.pollers, func(ctx context.Context) {
		_ = t.Watch(ctx, c.PollInterval, func(_, to string) { a.registryMoved(ctx, t, name, to) })
	})
	return t, nil
}

// registryMoved starts watching a version set live in the registry outside
// ripcord, after reading its schema tags.
func (a *App) registryMoved(ctx context.Context, t *mlflow.Target, service, version string) {
	svc := a.Service(service)
	if svc == nil {
		return
	}
	if vs, err := t.Versions(ctx); err != nil {
		a.log.Warn("mlflow: reading the new version's tags failed; its schema range is unknown", "service", service, "version", version, "err", err)
	} else {
		for _, v := range vs {
			if v.Version != version {
				continue
			}
			if r, err := schema.ParseRange(v.SchemaRange()); err == nil {
				svc.SetSchemaRange(version, r)
			} else {
				a.log.Warn("mlflow: the version's schema tags do not parse; no range applied", "service", service, "version", version, "err", err)
			}
		}
	}
	svc.ObservedBy(ctx, "mlflow", version)
}

// runPollers starts the registry watchers.
func (a *App) runPollers(ctx context.Context) {
	for _, p := range a.pollers {
		a.wg.Go(func() { p(ctx) })
	}
}

func (a *App) fileTarget(_ context.Context, sc *config.Service, c file.Config, _ func(string)) (revert.Target, error) {
	return file.New(c.WithDefaults(), file.WithLogger(lazylog.With(a.log, "component", "file-target", "service", sc.Name)))
}

// execTarget builds the exec target. The values of the variables it passes
// through, and the API tokens, are scrubbed from the program's output
// besides anything that looks like a credential.
func (a *App) execTarget(_ context.Context, sc *config.Service, c exec.Config, _ func(string)) (revert.Target, error) {
	var secrets []string
	for _, name := range c.Env {
		if v := os.Getenv(name); len(v) >= 4 {
			secrets = append(secrets, v)
		}
	}
	for _, tok := range a.cfg.API.Tokens {
		if tok.Value != "" {
			secrets = append(secrets, tok.Value)
		}
	}
	return exec.New(c.WithDefaults(), exec.WithLogger(lazylog.With(a.log, "component", "exec-target", "service", sc.Name)), exec.WithSecrets(secrets...))
}

func (a *App) webhookTarget(_ context.Context, sc *config.Service, c webhook.Config, _ func(string)) (revert.Target, error) {
	return webhook.New(c.WithDefaults(), webhook.WithLogger(lazylog.With(a.log, "component", "webhook-target", "service", sc.Name)))
}

// schemaKinds are the drivers of services[].schema_source.
var schemaKinds = []config.Kind{
	{Name: schema.DriverPostgres, Check: check[schema.PostgresSource]},
	{Name: schema.DriverSQLite, Check: check[schema.SQLiteSource]},
}

// schemaReader opens the service's schema source, or returns nil without
// one. It does not connect: the first read does, before a revert.
func schemaReader(sc config.Service) (controller.SchemaReader, error) {
	b := sc.SchemaSource.Provider()
	if b == nil {
		return nil, nil
	}
	var cfg schema.Config
	switch b.Kind {
	case schema.DriverPostgres:
		c, err := config.Decode[schema.PostgresSource](*b)
		if err != nil {
			return nil, err
		}
		cfg = c.Config()
	case schema.DriverSQLite:
		c, err := config.Decode[schema.SQLiteSource](*b)
		if err != nil {
			return nil, err
		}
		cfg = c.Config()
	default:
		return nil, fmt.Errorf("%s: no such schema source", b.Path)
	}
	r, err := schema.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("app: service %s: %s: %w", sc.Name, b.Path, err)
	}
	return r, nil
}

// checkSchemaRange is config's check of versions[].schema.
func checkSchemaRange(min, max string) error {
	_, err := schema.ParseRange(min, max)
	return err
}
