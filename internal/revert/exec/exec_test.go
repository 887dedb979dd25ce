package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/revert"
)

// script writes a /bin/sh script to a temp file; tests run it as
// argv [/bin/sh, path, ...], so ripcord never builds a shell string.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "switch.sh")
	if err := os.WriteFile(p, []byte("set -e\n"+body+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newTarget(t *testing.T, cfg Config, opts ...Option) *Target {
	t.Helper()
	tg, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// printArgs prints every argument it gets, one per line, bracketed.
const printArgs = `for a in "$@"; do printf '[%s]\n' "$a"; done`

func TestEachTemplateIsExactlyOneArgument(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	s := script(t, printArgs)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, "--to", "{{.To}}", "--why={{.Reason}}", "{{.Service}}/{{.From}}", "{{printf \"%v\" .}}"}})
	reason := "error_rate 9% > 5%; $(touch " + pwned + ") `touch " + pwned + "` 'q' \"dq\"\nline2 | tee x"
	res, err := tg.Revert(context.Background(), revert.Request{Service: "llm api", From: "v2.1", To: "v1_0-rc.3", Reason: reason})
	if err != nil {
		t.Fatalf("revert: %v (output %q)", err, res.Output)
	}
	want := "stdout:\n[--to]\n[v1_0-rc.3]\n[--why=" + reason + "]\n[llm api/v2.1]\n[{   }]\n"
	if res.Output != want {
		t.Errorf("output\n%q\nwant\n%q", res.Output, want)
	}
	// The shell that ran the script has exited: had anything interpreted
	// the reason, the file would exist by now.
	if _, err := os.Stat(pwned); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the reason was interpreted as shell syntax: %v", err)
	}
	if st, _ := tg.Status(context.Background()); st.Current != "v1_0-rc.3" {
		t.Errorf("status %q after revert", st.Current)
	}
	if res.From != "v2.1" || res.To != "v1_0-rc.3" || res.Duration <= 0 {
		t.Errorf("result %+v", res)
	}
}

func TestBadValuesNeverRun(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	s := script(t, "touch "+ran)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, "{{.To}}", "{{.From}}", "{{.Reason}}"}})
	for _, tc := range []struct {
		name      string
		from, to  string
		reason    string
		wantError string
	}{
		{"shell syntax in to", "v2", "v1;rm -rf /", "", "to version"},
		{"option-like to", "v2", "-rf", "", "starts with '-'"},
		{"path to", "v2", "..", "", "is a path"},
		{"substitution in from", "$(id)", "v1", "", "from version"},
		{"space in to", "v2", "v 1", "", "to version"},
		{"NUL in to", "v2", "v1\x00", "", "to version"},
		{"NUL in reason", "v2", "v1", "bad\x00reason", "NUL"},
		{"no from though named", "", "v1", "", "no from version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tg.Revert(context.Background(), revert.Request{Service: "s", From: tc.from, To: tc.to, Reason: tc.reason})
			if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("err = %v, want ErrBadValue mentioning %q", err, tc.wantError)
			}
			if _, err := os.Stat(ran); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("the program ran for a refused value")
			}
		})
	}
	if _, err := tg.Revert(context.Background(), revert.Request{Service: "s", From: "v2"}); !errors.Is(err, revert.ErrNothingToRevert) {
		t.Errorf("empty to: %v", err)
	}
}

func TestValidateNamesFieldAndFix(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"empty", Config{}, []string{"argv is required"}},
		{"relative program", Config{Argv: []string{"switch-model", "{{.To}}"}}, []string{"argv[0]", "not an absolute path", "/usr/local/bin/switch-model"}},
		{"templated program", Config{Argv: []string{"/opt/{{.To}}/bin", "{{.To}}"}}, []string{"argv[0]", "literal path"}},
		{"bad template", Config{Argv: []string{"/bin/x", "{{.To"}}, []string{"argv[1]", "bad template"}},
		{"unknown field", Config{Argv: []string{"/bin/x", "{{.To}}", "{{.Version}}"}}, []string{"argv[2]", "{{.Version}} is not a field", "{{.To}}"}},
		{"no To", Config{Argv: []string{"/bin/x", "--service", "{{.Service}}"}}, []string{"no argument names {{.To}}"}},
		{"negative timeout", Config{Argv: []string{"/bin/x", "{{.To}}"}, Timeout: -time.Second}, []string{"timeout", "negative"}},
		{"bad env", Config{Argv: []string{"/bin/x", "{{.To}}"}, Env: []string{"A=B"}}, []string{"env[0]"}},
		{"all at once", Config{Argv: []string{"x", "{{.Nope}}"}, Timeout: -1}, []string{"argv[0]", "argv[1]", "timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if err := (Config{Argv: []string{"/usr/local/bin/switch-model", "--to", "{{.To}}"}, Timeout: time.Minute}).Validate(); err != nil {
		t.Errorf("the issue's example is refused: %v", err)
	}
}

func TestNonZeroExitIsAFailedRevert(t *testing.T) {
	s := script(t, `echo "switching to $1"; echo "registry refused: version $1 unknown" >&2; exit 3`)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, "{{.To}}"}})
	res, err := tg.Revert(context.Background(), revert.Request{From: "v2", To: "v1"})
	if !errors.Is(err, ErrExit) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrExit", err)
	}
	for _, w := range []string{"exited with status 3", "registry refused: version v1 unknown"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if !strings.Contains(res.Output, "stdout:\nswitching to v1") || !strings.Contains(res.Output, "stderr:\nregistry refused") {
		t.Errorf("output %q", res.Output)
	}
	if st, _ := tg.Status(context.Background()); st.Current != "" {
		t.Errorf("a failed revert changed status to %q", st.Current)
	}

	s = script(t, `kill -TERM $$`)
	_, err = newTarget(t, Config{Argv: []string{"/bin/sh", s, "{{.To}}"}}).Revert(context.Background(), revert.Request{To: "v1"})
	if !errors.Is(err, ErrExit) || !strings.Contains(err.Error(), "killed by signal terminated") {
		t.Errorf("signalled: %v", err)
	}
	_, err = newTarget(t, Config{Argv: []string{"/nonexistent/switch-model", "{{.To}}"}}).Revert(context.Background(), revert.Request{To: "v1"})
	if err == nil || !strings.Contains(err.Error(), "cannot start /nonexistent/switch-model") {
		t.Errorf("missing program: %v", err)
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// The child writes its own PID once it runs, then the script waits on
	// it forever; on timeout both must die.
	s := script(t, `sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; exec sleep 300' child "$1" &
wait`)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, pidFile, "{{.To}}"}, Timeout: 3 * time.Second})
	_, err := tg.Revert(context.Background(), revert.Request{To: "v1"})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after 3s, process group killed") {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the child never started within the timeout: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

// waitGone waits until pid no longer runs (gone, or a zombie awaiting its
// reaper): the event the test needs, not a fixed sleep.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || zombie(string(stat)) {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d outlived the timeout: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func zombie(stat string) bool {
	i := strings.LastIndexByte(stat, ')')
	return i > 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

func TestCallerCancelKillsToo(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	s := script(t, `touch "$1"; exec sleep 300`)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, started, "{{.To}}"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := tg.Revert(ctx, revert.Request{To: "v1"}); done <- err }()
	waitFile(t, started)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func waitFile(t *testing.T, p string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", p)
		}
	}
}

func TestOutputIsCapped(t *testing.T) {
	s := script(t, `i=0; while [ $i -lt 300 ]; do printf '%0100d\n' $i; i=$((i+1)); done; echo err >&2`)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, "{{.To}}"}}, WithOutputCap(1000))
	res, err := tg.Revert(context.Background(), revert.Request{To: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	stdout, _, _ := strings.Cut(strings.TrimPrefix(res.Output, "stdout:\n"), "\nstderr:\n")
	kept, note, ok := strings.Cut(stdout, "\n[… ")
	if !ok || len(kept) != 1000 || !strings.Contains(note, "29300 more bytes cut") {
		t.Errorf("kept %d bytes, note %q", len(kept), note)
	}
	if !strings.HasSuffix(res.Output, "stderr:\nerr\n") {
		t.Errorf("stderr lost: %q", res.Output[len(res.Output)-40:])
	}
}

func TestSecretsAreScrubbed(t *testing.T) {
	const secret = "s3cr3t-registry-token-value"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "token")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RIPCORD_TEST_PRIVATE", "private-env-value")
	t.Setenv("RIPCORD_TEST_PASSED", "passed-env-value")
	s := script(t, `echo "using token $(cat "$1")"
echo "curl -H 'Authorization: Bearer abcdef123456789' https://deploy:hunter2pw@registry.internal/v2"
echo "password=letmein api_key: 'k-998877'"
env
echo "failed with $(cat "$1")" >&2
exit 1`)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, secretFile, "{{.To}}"}, Env: []string{"RIPCORD_TEST_PASSED"}}, WithSecrets(secret, ""))
	res, err := tg.Revert(context.Background(), revert.Request{To: "v1"})
	if err == nil {
		t.Fatal("exit 1 succeeded")
	}
	all := res.Output + "\n" + err.Error()
	for _, leak := range []string{secret, "abcdef123456789", "hunter2pw", "letmein", "k-998877", "private-env-value"} {
		if strings.Contains(all, leak) {
			t.Errorf("%q leaked into output or error:\n%s", leak, all)
		}
	}
	for _, kept := range []string{"using token <redacted>", "Bearer <redacted>", "deploy:<redacted>@registry.internal", "RIPCORD_TEST_PASSED=passed-env-value", "failed with <redacted>"} {
		if !strings.Contains(all, kept) {
			t.Errorf("output lacks %q:\n%s", kept, all)
		}
	}
}

func TestDryRunRunsNothing(t *testing.T) {
	ran := filepath.Join(t.TempDir(), "ran")
	s := script(t, "touch "+ran)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, "--to", "{{.To}}"}})
	res, err := tg.Revert(context.Background(), revert.Request{From: "v2", To: "v1", DryRun: true})
	if err != nil || !res.DryRun || res.Output != `dry run: would run ["/bin/sh" "`+s+`" "--to" "v1"]` {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	if _, err := os.Stat(ran); !errors.Is(err, os.ErrNotExist) {
		t.Error("dry run ran the program")
	}
	if _, err := tg.Revert(context.Background(), revert.Request{To: "-x", DryRun: true}); !errors.Is(err, ErrBadValue) {
		t.Errorf("dry run skipped the value checks: %v", err)
	}
}

func TestRevertToTheLiveVersionAgainSucceeds(t *testing.T) {
	state := filepath.Join(t.TempDir(), "live")
	// An idempotent switch: writes the version, succeeds when it is already live.
	s := script(t, `echo "$2" > "$1"`)
	tg := newTarget(t, Config{Argv: []string{"/bin/sh", s, state, "{{.To}}"}})
	for range 2 {
		if _, err := tg.Revert(context.Background(), revert.Request{From: "v2", To: "v1"}); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(state); string(b) != "v1\n" {
		t.Errorf("state %q", b)
	}
}
