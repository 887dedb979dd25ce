package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeRunsUntilItsContextEnds: serve -c starts the daemon the file
// describes (store relative to the file), answers on api.listen with the
// configured token, and returns cleanly, exit 0, when the context ends.
func TestServeRunsUntilItsContextEnds(t *testing.T) {
	dir := t.TempDir()
	apiAddr := freeAddr(t)
	if err := os.WriteFile(filepath.Join(dir, "ci.token"), []byte("serve-test-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`log: {level: error}
api:
  listen: %s
  tokens:
    - {name: ci, role: viewer, token_file: ./ci.token}
store:
  url: sqlite://state/ripcord.db
services:
  - name: llm-api
    proxy: {listen: 127.0.0.1:0}
    versions:
      - {name: v1, url: http://127.0.0.1:9}
    active: v1
`, apiAddr)
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ripcord.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-c", path}, &out, &errb) }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+apiAddr+"/api/v1/services", nil)
		req.Header.Set("Authorization", "Bearer serve-test-token")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the configured token gets HTTP %d", resp.StatusCode)
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before answering: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered on %s: %v", apiAddr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "ripcord.db")); err != nil {
		t.Fatalf("the store is not beside the config: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after its context ended: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
}

// TestServeAndCheckConfigRefuseWhatTheyCannotLoad: a missing file and an
// invalid one are exit 1 with the path; check-config lists each problem,
// serve starts nothing.
func TestServeAndCheckConfigRefuseWhatTheyCannotLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("services:\n  - name: a\n    active: v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		has  []string
	}{
		{[]string{"serve", "-c", missing}, []string{"ripcord: ", "missing.yaml"}},
		{[]string{"check-config", "-c", missing}, []string{"ripcord: ", "missing.yaml"}},
		{[]string{"check-config", "--config", bad}, []string{bad + ": ", "problem(s):", "services[0]", "ripcord: " + bad + " is not valid"}},
		{[]string{"serve", "-c", bad}, []string{"ripcord: ", "services[0]"}},
	} {
		code, stdout, stderr := cli(t, tc.args...)
		if code != 1 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", tc.args, code, stdout)
		}
		for _, h := range tc.has {
			if !strings.Contains(stderr, h) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, h, stderr)
			}
		}
	}
}

// check-config names each remote source's mistakes at its key and line,
// with the fix: a missing key file, a JSON path that does not parse, a
// query without {{.Version}}.
func TestCheckConfigRemoteSignals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ripcord.yaml")
	if err := os.WriteFile(filepath.Join(dir, "dd-app"), []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `services:
  - name: checkout
    proxy: {listen: 127.0.0.1:8080}
    versions: [{name: v1, url: "http://127.0.0.1:9001"}]
    signals:
      datadog:
        api_key_file: dd-api
        app_key_file: dd-app
        queries: {latency_p99_ms: "p99:trace.http.request.duration{service:checkout}"}
      web:
        url: "http://127.0.0.1:9100/{{.Version}}"
        values: {error_rate: "errors[x]"}
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cli(t, "check-config", "-c", path)
	for _, want := range []string{
		"services[0].signals.datadog.api_key_file: line 7: file " + filepath.Join(dir, "dd-api") + " does not exist",
		"services[0].signals.datadog.queries.latency_p99_ms: line 9: does not use {{.Version}}",
		"services[0].signals.web.values.error_rate: line 12: not a JSON path",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}
