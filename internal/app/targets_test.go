package app

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/revert/exec"
	"github.com/ripcord/ripcord/internal/revert/mlflow"
	"github.com/ripcord/ripcord/internal/schema"
)

// The new targets and the schema guard, as check-config reads them: every
// problem at once, each at its key and line.
func TestTargetAndSchemaProblemsInTheFile(t *testing.T) {
	dir := configDir(t)
	const bad = `services:
  - name: summarizer
    target:
      mlflow: {url: "https://mlflow.acme.internal/api/2.0", model: summarizer, alias: latest}
  - name: ranker
    versions: [{name: v1, schema: {min: 43, max: 41}}, {name: v2, schema: {min: "1.10", max: "1.9"}}]
    schema_source:
      postgres: {url: "postgres://u:pw@db/app", preset: liquibase}
    target:
      exec: {argv: ["{{.To}}", "--to", "{{.Version}}"]}
  - name: search
    versions: [{name: v1, schema: {max: 41}}]
    target:
      webhook: {url: "https://deployer.acme.internal/hook"}
  - name: files
    proxy: {listen: 127.0.0.1:8081}
    versions: [{name: v1}]
    target:
      file: {path: ACTIVE}
`
	_, err := config.Parse([]byte(bad), dir, Providers())
	if err == nil {
		t.Fatal("bad targets accepted")
	}
	for _, want := range []string{
		"services[0].target.mlflow.url: line 4: url https://mlflow.acme.internal/api/2.0 includes /api/2.0",
		`services[0].target.mlflow.alias: line 4: alias "latest" is reserved by MLflow`,
		"services[1].versions[0].schema: line 6: schema range min 43 > max 41",
		"services[1].versions[1].schema: line 6: schema range min 1.10 > max 1.9",
		"services[1].schema_source.postgres.url: line 8:",
		`services[1].schema_source.postgres.preset: line 8: "liquibase": want golang-migrate`,
		"services[1].target.exec.argv[0]: line 10: argv[0]: the program must be a literal path, not a template",
		"services[1].target.exec.argv[2]: line 10: argv[2]: {{.Version}} is not a field: use {{.Service}}, {{.From}}, {{.To}}, {{.Reason}}",
		"services[2].target.webhook.secret_file: line 14: secret_file is required",
		"services[2].schema_source: line 11: is required when versions declare a schema range",
		"services[3].proxy: line 16: a file target moves traffic itself: remove proxy",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "u:pw@") {
		t.Errorf("the database URL was echoed:\n%v", err)
	}
}

func TestTargetsDecodeAsDocumented(t *testing.T) {
	dir := configDir(t)
	const good = `services:
  - name: summarizer
    target:
      mlflow: {url: https://mlflow.acme.internal, model: summarizer, alias: champion, token_file: secret}
  - name: ranker
    versions: [{name: v1, schema: {max: 41}}, {name: v2, url: http://127.0.0.1:9002, schema: {min: 42}}]
    schema_source:
      sqlite: {path: app.db, preset: goose}
    target:
      exec: {argv: [/usr/local/bin/switch-model, "--to", "{{.To}}"], env: [AWS_PROFILE]}
  - name: search
    versions: [{name: v1}, {name: v2}]
    schema_source:
      postgres: {url_file: secret, query: "SELECT max(version) FROM migrations"}
    target:
      webhook: {url: "https://deployer.acme.internal/hook", secret_file: whsec}
  - name: files
    versions: [{name: v1}, {name: v2}]
    target:
      file: {path: model/ACTIVE, health_url: http://127.0.0.1:8080/healthz}
`
	cfg, err := config.Parse([]byte(good), dir, Providers())
	if err != nil {
		t.Fatal(err)
	}
	mc, err := config.Decode[mlflow.Config](*cfg.Services[0].Target.Provider())
	if err != nil || string(mc.TokenFile) != filepath.Join(dir, "secret") {
		t.Errorf("mlflow %+v %v (token_file relative to the config)", mc, err)
	}
	ec, err := config.Decode[exec.Config](*cfg.Services[1].Target.Provider())
	if err != nil || len(ec.Argv) != 3 {
		t.Errorf("exec %+v %v", ec, err)
	}
	sq, err := config.Decode[schema.SQLiteSource](*cfg.Services[1].SchemaSource.Provider())
	if err != nil || string(sq.Path) != filepath.Join(dir, "app.db") {
		t.Errorf("sqlite source %+v %v", sq, err)
	}
	pg, err := config.Decode[schema.PostgresSource](*cfg.Services[2].SchemaSource.Provider())
	if err != nil || pg.URL.Reveal() != secretValue {
		t.Errorf("postgres source %v", err)
	}
	if s := cfg.Services[1]; s.Versions[0].Schema.Max != "41" || s.Active != "v2" || s.Versions[0].URL != "" {
		t.Errorf("ranker versions %+v active %s", s.Versions, s.Active)
	}
}
