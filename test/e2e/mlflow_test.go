package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const mlflowToken = "mlflow-e2e-T0kEn-4b1d"

func mlflowYAML(url, alias string) string {
	return fmt.Sprintf(`services:
  - name: summarizer
%s    target:
      mlflow: {url: %s, model: summarizer, alias: %s, token_file: mlflow.token, poll_interval: 50ms}
`, fastYAMLPolicy, url, alias)
}

// TestMLflowAliasMovedBack: ripcord discovers the registered model's
// versions and the alias's, notices a version set live in the registry
// outside ripcord, judges it on pushed signals and moves the alias back —
// through 429 and 503 answers, which it retries — then reads it back.
func TestMLflowAliasMovedBack(t *testing.T) {
	reg := newMLflowRegistry(t, mlflowToken, "summarizer")
	reg.add("1", "READY", nil)
	reg.add("2", "READY", nil)
	reg.add("3", "PENDING_REGISTRATION", nil) // never a revert target
	reg.setAliasTo("champion", "2")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mlflow.token"), mlflowToken+"\n", 0o600)
	e := fileEnv(t, dir, mlflowYAML(reg.srv.URL, "champion"))
	s := e.waitForSvc("summarizer", "the alias's version active", func(s statusT) bool { return s.Active == "2" })
	if names := versionNames(s); names != "1,2" {
		t.Fatalf("discovered versions %s, want 1,2 (3 is not READY)", names)
	}

	// Someone promotes version 4 in the registry.
	reg.add("4", "READY", nil)
	reg.setAliasTo("champion", "4")
	e.waitForSvc("summarizer", "the outside move noticed as a deploy", func(s statusT) bool { return s.Active == "4" && s.State == "watching" })

	reg.inject("POST registered-models/alias", mlflowFault{status: 429, retryAfter: "0", code: "RESOURCE_EXHAUSTED"},
		mlflowFault{status: 503, code: "TEMPORARILY_UNAVAILABLE"})
	before := reg.count("POST registered-models/alias")
	s = pushBad(t, e, "summarizer", "4")
	if s.Active != "2" {
		t.Fatalf("after the revert the service is on %s (%s), want 2", s.Active, s.State)
	}
	if got := reg.alias("champion"); got != "2" {
		t.Fatalf("registry alias champion → %s, want 2", got)
	}
	if n := reg.count("POST registered-models/alias") - before; n != 3 {
		t.Errorf("%d POSTs to set the alias, want 3 (429, 503, then 200)", n)
	}
	// Read back after the set, and the target checked first.
	reqs := strings.Join(reg.requests(), "\n")
	if !strings.Contains(reqs, "GET model-versions/get?name=summarizer&version=2") {
		t.Errorf("the target version was not checked before the set:\n%s", reqs)
	}
	all := reg.requests()
	lastPost := -1
	for i, r := range all {
		if strings.HasPrefix(r, "POST registered-models/alias") {
			lastPost = i
		}
	}
	if lastPost < 0 || lastPost+1 >= len(all) || !strings.HasPrefix(all[lastPost+1], "GET registered-models/alias?alias=champion&name=summarizer") {
		t.Errorf("the alias was not read back right after the set:\n%s", reqs)
	}
	inc := incidentOf(t, e, "summarizer", "rollback_done")
	if !strings.Contains(timeline(inc), "4 → 2") {
		t.Errorf("timeline does not show 4 → 2:\n%s", timeline(inc))
	}
	// ripcord's own move is not taken for a deploy: the service verifies 2
	// and stays on it.
	e.waitForSvc("summarizer", "verified on 2", func(s statusT) bool { return s.Active == "2" && s.State == "stable" })
	for _, ev := range inc.Events {
		if strings.Contains(ev.Message, mlflowToken) {
			t.Fatalf("the token reached the timeline: %s", ev.Message)
		}
	}
}

// TestMLflowStartupNamesMissingAliasAndModel: an alias or model that does
// not exist stops start-up with an error naming the key and the fix.
func TestMLflowStartupNamesMissingAliasAndModel(t *testing.T) {
	reg := newMLflowRegistry(t, mlflowToken, "summarizer")
	reg.add("1", "READY", nil)
	reg.setAliasTo("champion", "1")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mlflow.token"), mlflowToken+"\n", 0o600)
	_, err := tryFileEnv(t, dir, mlflowYAML(reg.srv.URL, "chmpion"))
	if err == nil {
		t.Fatal("started with an alias the model does not have")
	}
	for _, want := range []string{"services[0].target.mlflow", `no alias "chmpion"`, "champion→1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = tryFileEnv(t, dir, strings.Replace(mlflowYAML(reg.srv.URL, "champion"), "model: summarizer", "model: sumarizer", 1))
	if err == nil || !strings.Contains(err.Error(), `registered model "sumarizer" does not exist`) || !strings.Contains(err.Error(), "RESOURCE_DOES_NOT_EXIST") {
		t.Errorf("missing model: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), mlflowToken) {
		t.Errorf("the token is in the error: %v", err)
	}
}

func versionNames(s statusT) string {
	var names []string
	for _, v := range s.Versions {
		names = append(names, v.Name)
	}
	return strings.Join(names, ",")
}

// waitForSvc polls a named service's status until cond holds.
func (e *env) waitForSvc(service, what string, cond func(statusT) bool) statusT {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := e.client.Service(context.Background(), service)
		if err == nil && cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s: %+v %v", what, s, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMLflowSchemaTags: MLflow versions declare their schema range with the
// ripcord.dev/schema-min and -max tags; with the database at 42 the alias
// is not moved to a version that works only up to 41, and ripcord
// escalates saying so.
func TestMLflowSchemaTags(t *testing.T) {
	reg := newMLflowRegistry(t, mlflowToken, "summarizer")
	reg.add("1", "READY", map[string]string{"ripcord.dev/schema-max": "41"})
	reg.add("2", "READY", map[string]string{"ripcord.dev/schema-min": "42"})
	reg.setAliasTo("champion", "2")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mlflow.token"), mlflowToken+"\n", 0o600)
	db := sqliteSchemaDB(t, dir)
	db.migrate(t, 42, false)
	yaml := strings.Replace(mlflowYAML(reg.srv.URL, "champion"), "    target:\n", "    schema_source:\n      "+db.source+"\n    target:\n", 1)
	e := fileEnv(t, dir, yaml)
	e.waitForSvc("summarizer", "the alias's version active", func(s statusT) bool { return s.Active == "2" })
	s := pushBad(t, e, "summarizer", "2")
	if s.State != "escalated" || reg.alias("champion") != "2" || reg.count("POST registered-models/alias") != 0 {
		t.Fatalf("%s on %s, alias → %s after %d sets: want escalated, alias untouched", s.State, s.Active, reg.alias("champion"), reg.count("POST registered-models/alias"))
	}
	if tl := timeline(incidentOf(t, e, "summarizer", "escalated")); !strings.Contains(tl, "1 works with schema ≤ 41; the database is at 42") {
		t.Errorf("the escalation does not say why:\n%s", tl)
	}
}
