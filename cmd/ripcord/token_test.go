package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
)

// localDaemon runs a daemon with no api.tokens, as `ripcord serve` with the
// minimal config would, with XDG_STATE_HOME pointed at a temporary dir.
func localDaemon(t *testing.T) *app.App {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("RIPCORD_TOKEN", "")
	v := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(v.Close)
	dir := t.TempDir()
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + filepath.Join(dir, "ripcord.db")},
		Reports: config.Reports{Dir: filepath.Join(dir, "reports")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: config.DefaultPolicy(),
			Versions: []config.Version{{Name: "v0", URL: v.URL}, {Name: "v1", URL: v.URL + "/?key=s3cr3t-q"}}}}}
	a, err := app.New(t.Context(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

// TestCLIFindsTheLocalDaemonsToken: with no flags the CLI reaches a local
// daemon that generated its own token; explicit tokens take precedence in
// the documented order.
func TestCLIFindsTheLocalDaemonsToken(t *testing.T) {
	a := localDaemon(t)
	_, port, _ := strings.Cut(a.APIAddr(), ":")
	tok, file := a.LocalToken()
	for _, server := range []string{"http://" + a.APIAddr(), "http://localhost:" + port} {
		out, stderr, err := runCLI(t, "status", "--server", server)
		if err != nil || !strings.Contains(out, "svc: ") {
			t.Fatalf("status --server %s with no token: %v\n%s%s", server, err, out, stderr)
		}
		if strings.Contains(out, "s3cr3t-q") || !strings.Contains(out, "key=***") {
			t.Errorf("status shows a version URL's query value:\n%s", out)
		}
	}
	server := "http://" + a.APIAddr()
	if _, _, err := runCLI(t, "status", "--server", server, "--token", "wrong"); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("--token must win over the local token: %v", err)
	}
	t.Setenv("RIPCORD_TOKEN", "wrong")
	if _, _, err := runCLI(t, "status", "--server", server, "--token-file", file); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("RIPCORD_TOKEN must win over --token-file: %v", err)
	}
	if _, _, err := runCLI(t, "status", "--server", server, "--token", tok); err != nil {
		t.Errorf("--token with the right token: %v", err)
	}
	t.Setenv("RIPCORD_TOKEN", "")
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // no pointer: only the file helps
	if _, _, err := runCLI(t, "status", "--server", server); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("without a pointer: %v, want 401", err)
	}
	if _, _, err := runCLI(t, "status", "--server", server, "--token-file", file); err != nil {
		t.Errorf("--token-file: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var e *apiclient.Error
	return errors.As(err, &e) && e.Status == status
}

// TestCLIStripsControlCharacters: a note is server-provided text; its
// escape sequences must not reach the terminal.
func TestCLIStripsControlCharacters(t *testing.T) {
	a := localDaemon(t)
	server := "http://" + a.APIAddr()
	tok, _ := a.LocalToken()
	c := apiclient.New(server, tok)
	res, err := c.Rollback(t.Context(), "svc", "v0", "test")
	if err != nil {
		t.Fatal(err)
	}
	hostile := "\x1b]0;owned\x07 \x1b[2J\x1b[1A \u009b31m fine text\r\x00"
	if _, err := c.Note(t.Context(), res.IncidentID, hostile); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"incidents", "show", res.IncidentID}, {"incidents", "list"}, {"report", res.IncidentID}} {
		out, _, err := runCLI(t, append(args, "--server", server)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if i := strings.IndexAny(out, "\x1b\x07\r\x00\u009b"); i >= 0 {
			t.Errorf("%v prints a control character at %d: %q", args, i, out[max(0, i-20):min(len(out), i+20)])
		}
		if args[1] == "show" && !strings.Contains(out, "fine text") {
			t.Errorf("the note's text is gone:\n%s", out)
		}
	}
}

func TestCleanWriterAcrossWrites(t *testing.T) {
	var b bytes.Buffer
	w := cleanWriter(&b)
	// ESC and a C1 CSI split across writes; é split across writes stays.
	for _, p := range []string{"a\x1b", "[2Jb\xc2", "\x9bc\xc3", "\xa9\td\n"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.String(); got != "a[2Jbcé\td\n" {
		t.Fatalf("cleaned %q", got)
	}
}

func TestMain(m *testing.M) {
	// The demo and these tests start daemons that leave pointers in the
	// state directory; never the developer's own.
	dir, err := os.MkdirTemp("", "ripcord-cli-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
