package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ripcord/ripcord/internal/revert"
)

// Errors Revert returns (wrapped; test with errors.Is).
var (
	// ErrTimeout means the program ran past the timeout; its process group
	// was killed.
	ErrTimeout = errors.New("timed out")
	// ErrExit means the program exited non-zero or was killed by a signal.
	ErrExit = errors.New("failed")
	// ErrBadValue means a request value is unfit to pass to a program (a
	// version that is not a version name, a NUL byte); nothing ran.
	ErrBadValue = errors.New("exec: refused value")
)

// waitDelay is how long Wait keeps reading output after the program
// exited (or was killed) while a child that escaped the process group
// still holds its pipes.
const waitDelay = 2 * time.Second

// passEnv is the part of ripcord's environment every program gets.
var passEnv = []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// Target reverts by running a program. It is safe for concurrent use.
type Target struct {
	cfg    Config
	args   []arg
	scrub  Scrubber
	log    *slog.Logger
	outCap int

	mu   sync.Mutex
	last string // the version the last successful run switched to
}

var _ revert.Target = (*Target)(nil)

// Option changes a Target.
type Option func(*Target)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(t *Target) { t.log = l } }

// WithSecrets names values to scrub from the program's output and from
// errors: the caller passes every secret ripcord holds (tokens, keys), so
// a program that echoes one cannot put it on the timeline.
func WithSecrets(values ...string) Option {
	return func(t *Target) { t.scrub = NewScrubber(values...) }
}

// WithOutputCap sets how many bytes of each of stdout and stderr are
// kept (default DefaultOutputCap).
func WithOutputCap(n int) Option { return func(t *Target) { t.outCap = n } }

// New checks cfg and builds a Target.
func New(cfg Config, opts ...Option) (*Target, error) {
	cfg = cfg.WithDefaults()
	args, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	t := &Target{cfg: cfg, args: args, log: slog.Default(), outCap: DefaultOutputCap}
	for _, o := range opts {
		o(t)
	}
	t.log = t.log.With("target", "exec", "program", cfg.Argv[0])
	return t, nil
}

// Status reports the version the last successful revert switched to, or
// "" when this process has not run one: a program is not asked what is
// live, so the controller's own record is the source of truth.
func (t *Target) Status(context.Context) (revert.Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return revert.Status{Current: t.last}, nil
}

// Argv returns the arguments a revert for req would run, after checking
// every value. It runs nothing.
func (t *Target) Argv(req revert.Request) ([]string, error) {
	if req.To == "" {
		return nil, revert.ErrNothingToRevert
	}
	if err := checkVersion("to", req.To); err != nil {
		return nil, err
	}
	if req.From != "" {
		if err := checkVersion("from", req.From); err != nil {
			return nil, err
		}
	}
	argv := make([]string, len(t.args))
	for i, a := range t.args {
		if a.tmpl == nil {
			argv[i] = a.lit
			continue
		}
		s, err := a.expand(req)
		if err != nil {
			return nil, fmt.Errorf("%w: argv[%d]: %v", ErrBadValue, i, err)
		}
		argv[i] = s
	}
	return argv, nil
}

// expand runs one template on only the fields it names, so a value it
// does not name (the free-text reason, say) never reaches the program.
func (a arg) expand(req revert.Request) (string, error) {
	var d data
	for _, f := range a.fields {
		switch f {
		case "Service":
			d.Service = req.Service
		case "From":
			if req.From == "" {
				return "", errors.New("names {{.From}} but the revert has no from version")
			}
			d.From = req.From
		case "To":
			d.To = req.To
		case "Reason":
			d.Reason = req.Reason
		}
	}
	var b strings.Builder
	if err := a.tmpl.Execute(&b, d); err != nil {
		return "", err
	}
	if strings.ContainsRune(b.String(), 0) {
		return "", errors.New("expands to a value containing a NUL byte")
	}
	return b.String(), nil
}

// data is what templates see.
type data struct{ Service, From, To, Reason string }

// checkVersion keeps a version name from reading as an option, a path or
// anything but a name.
func checkVersion(field, v string) error {
	switch {
	case !versionPattern.MatchString(v):
		return fmt.Errorf("%w: %s version %q is not a version name (letters, digits, '.', '_', '-')", ErrBadValue, field, v)
	case strings.HasPrefix(v, "-"):
		return fmt.Errorf("%w: %s version %q starts with '-' and would read as an option", ErrBadValue, field, v)
	case v == "." || v == "..":
		return fmt.Errorf("%w: %s version %q is a path, not a version name", ErrBadValue, field, v)
	}
	return nil
}

// Revert runs the program for req. The program must itself be
// idempotent: switching to the version already live must succeed, since
// a revert re-run after a crash runs it again. DryRun checks and expands
// argv but runs nothing.
func (t *Target) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	res := revert.Result{From: req.From, To: req.To, DryRun: req.DryRun}
	argv, err := t.Argv(req)
	if err != nil {
		return res, err
	}
	if req.DryRun {
		res.Output = t.scrub.Scrub("dry run: would run " + quoteArgv(argv))
		return res, nil
	}
	start := time.Now()
	out, err := t.run(ctx, argv)
	res.Duration = time.Since(start)
	res.Output = out
	if err != nil {
		t.log.Warn("revert command failed", "to", req.To, "error", err, "took", res.Duration)
		return res, err
	}
	t.mu.Lock()
	t.last = req.To
	t.mu.Unlock()
	t.log.Info("revert command succeeded", "from", req.From, "to", req.To, "took", res.Duration)
	return res, nil
}

// run starts argv in its own process group, so a timeout kills the
// program and every child it started, and returns the scrubbed output.
func (t *Target) run(parent context.Context, argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(parent, t.cfg.Timeout)
	defer cancel()
	stdout, stderr := &capped{max: t.outCap}, &capped{max: t.outCap}
	cmd := osexec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = t.environ()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	ownProcessGroup(cmd)
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	note := ""
	if errors.Is(err, osexec.ErrWaitDelay) {
		// The program exited 0; a child it left behind kept the pipes.
		note, err = fmt.Sprintf("[a child process kept the output open after the program exited; stopped reading after %s]", waitDelay), nil
	}
	out := t.scrub.Scrub(joinOutput(stdout.String(), stderr.String(), note))
	if err == nil {
		return out, nil
	}
	prog := argv[0]
	switch {
	case parent.Err() != nil:
		return out, fmt.Errorf("exec: %s stopped before it finished, process group killed: %w", prog, parent.Err())
	case ctx.Err() != nil:
		return out, fmt.Errorf("exec: %s %w after %s, process group killed", prog, ErrTimeout, t.cfg.Timeout)
	}
	var ee *osexec.ExitError
	if !errors.As(err, &ee) {
		return out, fmt.Errorf("exec: cannot start %s: %w", prog, err)
	}
	how := fmt.Sprintf("exited with status %d", ee.ExitCode())
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		how = "was killed by signal " + ws.Signal().String()
	}
	return out, fmt.Errorf("exec: %s %w: %s%s", prog, ErrExit, how, lastLine(t.scrub.Scrub(stderr.String())))
}

// environ is the program's environment: the fixed pass-through list and
// the configured names, nothing else.
func (t *Target) environ() []string {
	var env []string
	for _, name := range slices.Concat(passEnv, t.cfg.Env) {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	if _, ok := os.LookupEnv("PATH"); !ok {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	return env
}

func joinOutput(stdout, stderr, note string) string {
	var parts []string
	if stdout != "" {
		parts = append(parts, "stdout:\n"+stdout)
	}
	if stderr != "" {
		parts = append(parts, "stderr:\n"+stderr)
	}
	if note != "" {
		parts = append(parts, note)
	}
	return strings.Join(parts, "\n")
}

// lastLine is ": <the last non-empty line>" of s, shortened, or "".
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if l == "" {
		return ""
	}
	if r := []rune(l); len(r) > 200 {
		l = string(r[:200]) + "…"
	}
	return ": " + l
}

// quoteArgv shows argv unambiguously, for dry runs.
func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(q, " ") + "]"
}
