package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret = "s3cr3t-do-not-print-7f2a"

// withTokens puts the given api.tokens list (YAML flow items, one per line)
// into the base config, starting on line 4.
func withTokens(t *testing.T, items ...string) string {
	t.Helper()
	return mutate(t, "  listen: 127.0.0.1:7070\n", "  listen: 0.0.0.0:7070\n  tokens:\n    - "+strings.Join(items, "\n    - ")+"\n")
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTokenFromFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ci.token", "  "+secret+"\n\n")
	cfg := mustParse(t, withTokens(t, "{name: ci, role: operator, token_file: ./ci.token}"), dir)
	if got := cfg.API.Tokens[0].Value; got != secret {
		t.Errorf("Value = %q, want the trimmed file contents", got)
	}
}

func TestTokenFromEnv(t *testing.T) {
	t.Setenv("RIPCORD_TEST_TOKEN", secret)
	cfg := mustParse(t, withTokens(t, "{name: ci, role: admin, token: '${RIPCORD_TEST_TOKEN}'}"), "")
	if got := cfg.API.Tokens[0].Value; got != secret {
		t.Errorf("Value = %q, want the environment value", got)
	}
}

func TestTokenProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "empty.token", " \n")
	writeFile(t, dir, "two-lines.token", secret+"\n"+secret+"\n")
	writeFile(t, dir, "a.token", secret)
	writeFile(t, dir, "b.token", secret+"\n")
	writeFile(t, dir, "c.token", "another-token")
	t.Setenv("RIPCORD_EMPTY", "")
	tests := []struct {
		name  string
		items []string
		path  string
		msg   string
	}{
		{"literal", []string{"{name: ci, role: admin, token: " + secret + "}"}, "api.tokens[0].token", "use token_file"},
		{"unbraced env", []string{"{name: ci, role: admin, token: $" + secret + "}"}, "api.tokens[0].token", "environment reference such as ${RIPCORD_CI_TOKEN}"},
		{"env unset", []string{"{name: ci, role: admin, token: '${RIPCORD_NOT_SET_ANYWHERE}'}"}, "api.tokens[0].token", "RIPCORD_NOT_SET_ANYWHERE is not set or is empty"},
		{"env empty", []string{"{name: ci, role: admin, token: '${RIPCORD_EMPTY}'}"}, "api.tokens[0].token", "RIPCORD_EMPTY is not set"},
		{"missing file", []string{"{name: ci, role: admin, token_file: nope.token}"}, "api.tokens[0].token_file", "token file " + filepath.Join(dir, "nope.token") + " does not exist"},
		{"empty file", []string{"{name: ci, role: admin, token_file: empty.token}"}, "api.tokens[0].token_file", "is empty"},
		{"two lines", []string{"{name: ci, role: admin, token_file: two-lines.token}"}, "api.tokens[0].token_file", "several lines"},
		{"both", []string{"{name: ci, role: admin, token_file: a.token, token: '${X}'}"}, "api.tokens[0]", "keep exactly one"},
		{"neither", []string{"{name: ci, role: admin}"}, "api.tokens[0]", "has no secret"},
		{"no name", []string{"{role: admin, token_file: a.token}"}, "api.tokens[0].name", "is required"},
		{"bad role", []string{"{name: ci, role: root, token_file: a.token}"}, "api.tokens[0].role", "must be one of viewer, operator, admin"},
		{"duplicate name", []string{"{name: ci, role: admin, token_file: a.token}", "{name: ci, role: viewer, token_file: c.token}"}, "api.tokens[1].name", `"ci" is already used at api.tokens[0]`},
		{"same secret", []string{"{name: ci, role: admin, token_file: a.token}", "{name: ro, role: viewer, token_file: b.token}"}, "api.tokens[1]", `same secret as token "ci"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrs(t, withTokens(t, tt.items...), dir)
			wantProblem(t, errs, tt.path, 4+len(tt.items)-1, tt.msg)
			if text := errs.Error() + fmt.Sprintf("%v %+v %#v", errs, errs, errs); strings.Contains(text, secret) {
				t.Errorf("secret leaked into the error:\n%s", text)
			}
		})
	}
}

func TestLiteralTokenNotInLoadError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ripcord.yaml", withTokens(t, "{name: ci, role: admin, token: \""+secret+"\"}"))
	_, err := Load(filepath.Join(dir, "ripcord.yaml"), testProviders)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v", err)
	}
	wantProblem(t, problemsOf(t, err), "api.tokens[0].token", 4, "secrets are not accepted inline")
}

func TestListenWithoutTokensMustBeLoopback(t *testing.T) {
	tests := []struct {
		listen string
		ok     bool
	}{
		{"127.0.0.1:7070", true},
		{"127.1.2.3:7070", true},
		{"[::1]:7070", true},
		{"localhost:7070", true},
		{"0.0.0.0:7070", false},
		{":7070", false},
		{"10.0.0.5:7070", false},
		{"[::]:7070", false},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			src := mutate(t, "listen: 127.0.0.1:7070", "listen: '"+tt.listen+"'")
			_, err := Parse([]byte(src), "", testProviders)
			if tt.ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			wantProblem(t, problemsOf(t, err), "api.listen", 2, "no api.tokens are configured")
		})
	}
}

func TestRedacted(t *testing.T) {
	t.Setenv("RIPCORD_TEST_TOKEN", secret)
	cfg := mustParse(t, withTokens(t, "{name: ci, role: admin, token: '${RIPCORD_TEST_TOKEN}'}"), "")
	red := cfg.Redacted()
	if red.API.Tokens[0].Value != "" || red.API.Tokens[0].Name != "ci" {
		t.Errorf("redacted token = %+v", red.API.Tokens[0])
	}
	if cfg.API.Tokens[0].Value != secret {
		t.Error("Redacted modified the original")
	}
	*red.Services[0].Policy.Thresholds["error_rate"].Max = 0.9
	red.Services[0].Versions[0].Name = "changed"
	if *cfg.Services[0].Policy.Thresholds["error_rate"].Max != 0.05 || cfg.Services[0].Versions[0].Name != "v0" {
		t.Error("Redacted copy shares memory with the original")
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "token", cfg.API.Tokens[0], "cfg", cfg)
	if text := fmt.Sprintf("%v %+v %#v", *cfg, *cfg, *cfg) + logged.String(); strings.Contains(text, secret) {
		t.Errorf("printing the config leaks the secret: %s", text)
	}
}
