package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func listedYAML(target string) string {
	return fmt.Sprintf(`services:
  - name: model
    versions: [{name: v1}, {name: v2}]
%s    target:
%s`, fastYAMLPolicy, target)
}

// TestFileTargetWritesReloadsAndChecks: a model server that reads its
// version from a file is switched by rewriting the file, asked to reload,
// and checked healthy.
func TestFileTargetWritesReloadsAndChecks(t *testing.T) {
	dir := t.TempDir()
	active := filepath.Join(dir, "ACTIVE_VERSION")
	writeFile(t, active, "v2\n", 0o644)
	var mu sync.Mutex
	var loaded []string // what the server read at each reload
	health := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "POST /reload":
			b, _ := os.ReadFile(active)
			loaded = append(loaded, strings.TrimSpace(string(b)))
		case "GET /healthz":
			health++
		default:
			t.Errorf("model server: unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	e := fileEnv(t, dir, listedYAML(fmt.Sprintf("      file: {path: ACTIVE_VERSION, reload_url: %s/reload, health_url: %s/healthz}\n", srv.URL, srv.URL)))
	s := pushBad(t, e, "model", "v2")
	if s.Active != "v1" {
		t.Fatalf("service on %s (%s) after the revert, want v1", s.Active, s.State)
	}
	b, _ := os.ReadFile(active)
	if string(b) != "v1\n" {
		t.Fatalf("file holds %q, want \"v1\\n\"", b)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(loaded) != 1 || loaded[0] != "v1" || health < 1 {
		t.Fatalf("reloads saw %v, health checks %d: want one reload reading v1 and a health check", loaded, health)
	}
}

// switchScript is a real program the exec target runs by argv: it records
// its arguments one per line, prints to stdout and stderr (a credential
// among them, which must be scrubbed) and exits with $EXIT_CODE.
const switchScript = `#!/bin/sh
out="$1"; shift
for a in "$@"; do printf '%s\n' "$a"; done > "$out"
echo "switching model to $2"
echo "auth: token=sk-live-abcdef123456 used" >&2
exit "${EXIT_CODE:-0}"
`

// TestExecTargetRunsArgvAndCapturesOutput: the program gets exactly the
// arguments argv names (a reason with spaces and quotes stays one
// argument), its output lands on the timeline scrubbed, and a non-zero
// exit escalates.
func TestExecTargetRunsArgvAndCapturesOutput(t *testing.T) {
	for _, tc := range []struct {
		name, exit string
	}{{"success", "0"}, {"failure", "3"}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			prog := filepath.Join(dir, "switch-model")
			writeFile(t, prog, switchScript, 0o755)
			args := filepath.Join(dir, "args")
			t.Setenv("EXIT_CODE", tc.exit)
			e := fileEnv(t, dir, listedYAML(fmt.Sprintf(`      exec:
        argv: [%s, %s, "--to", "{{.To}}", "--from={{.From}}", "{{.Reason}}"]
        timeout: 10s
        env: [EXIT_CODE]
`, prog, args)))
			s := pushBad(t, e, "model", "v2")
			b, err := os.ReadFile(args)
			if err != nil {
				t.Fatalf("the program did not run: %v", err)
			}
			got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if len(got) != 4 || got[0] != "--to" || got[1] != "v1" || got[2] != "--from=v2" || !strings.Contains(got[3], "quality_score") {
				t.Fatalf("argv after the program path: %q", got)
			}
			typ := "rollback_done"
			if tc.exit != "0" {
				typ = "escalated"
				if s.State != "escalated" {
					t.Fatalf("a failing program left the service %s on %s, want escalated", s.State, s.Active)
				}
			} else if s.Active != "v1" {
				t.Fatalf("service on %s after the revert", s.Active)
			}
			inc := incidentOf(t, e, "model", typ)
			tl := timeline(inc)
			if !strings.Contains(tl, "switching model to v1") || !strings.Contains(tl, "auth: token=") {
				t.Errorf("the program's output is not on the timeline:\n%s", tl)
			}
			if strings.Contains(tl, "sk-live-abcdef123456") {
				t.Errorf("the credential in the output reached the timeline:\n%s", tl)
			}
			if tc.exit != "0" && !strings.Contains(tl, "exit") {
				t.Errorf("the failure does not say the program exited non-zero:\n%s", tl)
			}
		})
	}
}

// hookReceiver is a revert endpoint verifying Standard Webhooks
// signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// "id.timestamp.body" with the base64-decoded whsec_ key, "v1,<base64>"
// in webhook-signature, and a timestamp within 5 minutes. It answers the
// first attempt with answers[0], the next with answers[1], …, then 200,
// and remembers which webhook-ids it has done.
type hookReceiver struct {
	t       *testing.T
	key     []byte
	mu      sync.Mutex
	answers []int
	ids     []string
	bodies  []map[string]any
	done    map[string]bool
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	switch {
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		h.t.Errorf("receiver: %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	case id == "" || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute:
		h.t.Errorf("receiver: webhook-id %q, webhook-timestamp %q", id, ts)
	case !strings.Contains(" "+sig+" ", " "+want+" "):
		h.t.Errorf("receiver: bad signature %q (want %q)", sig, want)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		h.t.Errorf("receiver: body %s: %v", body, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ids, h.bodies = append(h.ids, id), append(h.bodies, m)
	if h.done[id] {
		w.WriteHeader(http.StatusOK) // a repeat: already done
		return
	}
	if len(h.answers) > 0 {
		code := h.answers[0]
		h.answers = h.answers[1:]
		w.WriteHeader(code)
		return
	}
	h.done[id] = true
	w.WriteHeader(http.StatusOK)
}

// TestWebhookTargetSignsRetriesAndEscalates: one signed POST per revert,
// retried on 503 with the same idempotency key; a 400 escalates.
func TestWebhookTargetSignsRetriesAndEscalates(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	for _, tc := range []struct {
		name    string
		answers []int
		want    string
	}{{"retried", []int{503, 429}, "v1"}, {"refused", []int{400}, "escalated"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hookReceiver{t: t, key: key, answers: tc.answers, done: map[string]bool{}}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "hook.secret"), secret+"\n", 0o600)
			e := fileEnv(t, dir, listedYAML(fmt.Sprintf("      webhook: {url: %s/hooks/revert, secret_file: hook.secret, timeout: 20s}\n", srv.URL)))
			s := pushBad(t, e, "model", "v2")
			h.mu.Lock()
			ids, bodies := append([]string(nil), h.ids...), append([]map[string]any(nil), h.bodies...)
			h.mu.Unlock()
			switch tc.want {
			case "v1":
				if s.Active != "v1" || len(ids) != 3 {
					t.Fatalf("service %s on %s after %d attempts, want v1 after 3", s.State, s.Active, len(ids))
				}
			case "escalated":
				if s.State != "escalated" || len(ids) != 1 {
					t.Fatalf("service %s on %s after %d attempts, want escalated after 1", s.State, s.Active, len(ids))
				}
				tl := timeline(incidentOf(t, e, "model", "escalated"))
				if !strings.Contains(tl, "400") {
					t.Errorf("the refusal is not on the timeline:\n%s", tl)
				}
				if strings.Contains(tl, secret) || strings.Contains(tl, "/hooks/revert") {
					t.Errorf("the secret or the URL's path reached the timeline:\n%s", tl)
				}
			}
			for i, id := range ids {
				if id != ids[0] || !strings.HasPrefix(id, "ripcord-revert-") {
					t.Errorf("attempt %d webhook-id %q, first %q: one key per decision", i, id, ids[0])
				}
				b := bodies[i]
				if b["service"] != "model" || b["from"] != "v2" || b["to"] != "v1" || b["decision_id"] == nil {
					t.Errorf("attempt %d body %v", i, b)
				}
				if d, ok := b["decision_id"].(float64); ok && id != fmt.Sprintf("ripcord-revert-%d", int64(d)) {
					t.Errorf("webhook-id %q is not derived from decision_id %v", id, d)
				}
			}
		})
	}
}
