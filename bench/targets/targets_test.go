// Package targets measures what one revert costs through each target, in
// the same run: the built-in switch (the peer: an atomic pointer swap),
// the exec target (a real program started by argv) and the MLflow alias
// switch against a local registry speaking REST API 2.0.
//
//	nice -n 10 bash bench/targets/run.sh
package targets

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/exec"
	"github.com/ripcord/ripcord/internal/revert/mlflow"
	"github.com/ripcord/ripcord/internal/revert/proxyswitch"
)

const token = "bench-token-0123456789"

// flip reverts back and forth between v1 and v2 (idempotence would make a
// repeated revert to the same version free).
func flip(b *testing.B, tg revert.Target, v1, v2 string) {
	ctx := context.Background()
	from, to := v2, v1
	for b.Loop() {
		if _, err := tg.Revert(ctx, revert.Request{Service: "svc", From: from, To: to, Reason: "error_rate 9% > 5%"}); err != nil {
			b.Fatal(err)
		}
		from, to = to, from
	}
}

func BenchmarkRevert(b *testing.B) {
	b.Run("proxyswitch", func(b *testing.B) {
		sw := proxy.New(proxy.Options{Service: "svc"})
		defer sw.Close()
		for _, v := range []string{"v1", "v2"} {
			if err := sw.SetVersion(v, "http://127.0.0.1:1/"+v); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := sw.Activate("v2"); err != nil {
			b.Fatal(err)
		}
		flip(b, proxyswitch.New(sw), "v1", "v2")
	})
	b.Run("exec", func(b *testing.B) {
		// /bin/true: the target's own cost (argv checks, fork/exec in a
		// process group, output capture, reap), not a program's.
		tg, err := exec.New(exec.Config{Argv: []string{"/bin/true", "--to", "{{.To}}", "--reason", "{{.Reason}}"}},
			exec.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		flip(b, tg, "v1", "v2")
	})
	b.Run("mlflow", func(b *testing.B) {
		reg := newRegistry(b)
		dir := b.TempDir()
		tok := filepath.Join(dir, "token")
		if err := os.WriteFile(tok, []byte(token+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		tg, err := mlflow.New(mlflow.Config{URL: reg.URL, Model: "m", Alias: "champion", TokenFile: field.File(tok)},
			mlflow.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		flip(b, tg, "1", "2")
	})
}

// newRegistry is the smallest registry that answers a revert's four calls
// as MLflow does, refusing requests off the documented paths, methods and
// bearer token.
func newRegistry(b *testing.B) *httptest.Server {
	var mu sync.Mutex
	alias := "2"
	version := func(v string) map[string]any {
		return map[string]any{"name": "m", "version": v, "status": "READY", "aliases": []string{}}
	}
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				b.Errorf("registry: %s %s without the bearer token", r.Method, r.URL.Path)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/alias", auth(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"model_version": version(alias)})
	}))
	mux.HandleFunc("GET /api/2.0/mlflow/model-versions/get", auth(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"model_version": version(r.URL.Query().Get("version"))})
	}))
	mux.HandleFunc("POST /api/2.0/mlflow/registered-models/alias", auth(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct{ Name, Alias, Version string }
		if err := json.Unmarshal(body, &in); err != nil || in.Name != "m" || in.Alias != "champion" || in.Version == "" {
			b.Errorf("registry: set alias body %s", body)
		}
		mu.Lock()
		alias = in.Version
		mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b.Errorf("registry: undocumented %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}
