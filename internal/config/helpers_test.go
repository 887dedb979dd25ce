package config

import (
	"errors"
	"strings"
	"testing"
)

// base is a small valid config; tests change one line at a time with mutate
// so the line numbers below stay put.
const base = `api:
  listen: 127.0.0.1:7070
services:
  - name: llm-api
    proxy:
      listen: 127.0.0.1:8080
    versions:
      - name: v0
        url: http://127.0.0.1:9000
      - name: v1
        url: http://127.0.0.1:9001
    policy:
      interval: 250ms
      thresholds:
        error_rate: {max: 0.05, critical: 0.5}
        latency_p99_ms: {max: 3000}
`

// mutate replaces old (which must occur in base) with repl.
func mutate(t *testing.T, old, repl string) string {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("base config has no %q", old)
	}
	return strings.Replace(base, old, repl, 1)
}

// problemsOf extracts Errors from err, failing the test if there are none.
func problemsOf(t *testing.T, err error) Errors {
	t.Helper()
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) does not wrap config.Errors", err, err)
	}
	return errs
}

// wantProblem fails unless errs holds a problem at path on line whose message
// contains msg.
func wantProblem(t *testing.T, errs Errors, path string, line int, msg string) {
	t.Helper()
	for _, p := range errs {
		if p.Path == path && p.Line == line && strings.Contains(p.Msg, msg) {
			return
		}
	}
	t.Errorf("no problem at %s line %d containing %q; got:\n%v", path, line, msg, errs)
}

// mustParse parses src and fails on any problem.
func mustParse(t *testing.T, src, dir string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(src), dir, testProviders)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

// parseErrs parses src and returns its problems, failing if there are none.
func parseErrs(t *testing.T, src, dir string) Errors {
	t.Helper()
	cfg, err := Parse([]byte(src), dir, testProviders)
	if err == nil {
		t.Fatalf("Parse succeeded, want problems; config: %+v", cfg)
	}
	if cfg != nil {
		t.Errorf("Parse returned a config along with an error")
	}
	return problemsOf(t, err)
}
