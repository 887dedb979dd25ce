package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/ripcord/ripcord/internal/revert"
)

// Errors a Target returns (wrapped; test with errors.Is).
var (
	// ErrBadVersion means the version cannot be written as one line.
	ErrBadVersion = errors.New("file: bad version")
	// ErrNotServing means the file was written but the reload or health
	// check did not succeed in time.
	ErrNotServing = errors.New("file: server not confirmed")
)

// maxVersion bounds the version name (and how much of the file is read).
const maxVersion = 4 << 10

// retryEvery is the first pause between reload or health attempts; it
// doubles up to retryMax.
const (
	retryEvery = 100 * time.Millisecond
	retryMax   = 2 * time.Second
)

// Target reverts by rewriting a version file. It is safe for concurrent
// use; concurrent reverts of one file are serialised by the rename.
type Target struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
}

var _ revert.Target = (*Target)(nil)

// Option changes a Target.
type Option func(*Target)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(t *Target) { t.log = l } }

// WithHTTPClient sets the client for reload_url and health_url.
func WithHTTPClient(c *http.Client) Option { return func(t *Target) { t.client = c } }

// New checks cfg and that the file's directory exists.
func New(cfg Config, opts ...Option) (*Target, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(string(cfg.Path))
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("file target: path: directory %s does not exist: create it, or fix path", dir)
	}
	t := &Target{cfg: cfg, client: &http.Client{}, log: slog.Default()}
	for _, o := range opts {
		o(t)
	}
	t.log = t.log.With("target", "file", "path", cfg.Path)
	return t, nil
}

// Status reads the version the file names.
func (t *Target) Status(context.Context) (revert.Status, error) {
	v, err := t.read()
	if errors.Is(err, fs.ErrNotExist) {
		return revert.Status{}, fmt.Errorf("file: %s does not exist: write the live version into it, or fix path: %w", t.cfg.Path, err)
	}
	return revert.Status{Current: v}, err
}

func (t *Target) read() (string, error) {
	f, err := os.Open(string(t.cfg.Path))
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxVersion+2))
	if err != nil {
		return "", fmt.Errorf("file: read %s: %w", t.cfg.Path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Revert makes the file name req.To, then reloads and checks the server.
func (t *Target) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	if req.To == "" {
		return revert.Result{}, revert.ErrNothingToRevert
	}
	if err := checkVersion(req.To); err != nil {
		return revert.Result{}, err
	}
	current, err := t.read()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return revert.Result{}, err
	}
	res := revert.Result{From: current, To: req.To, DryRun: req.DryRun}
	if req.DryRun {
		return res, nil
	}
	start := time.Now()
	if current != req.To {
		if err := writeAtomic(string(t.cfg.Path), req.To+"\n"); err != nil {
			return res, err
		}
		t.log.Info("version file written", "from", current, "to", req.To)
	}
	err = t.confirm(ctx)
	res.Duration = time.Since(start)
	return res, err
}

// checkVersion accepts one line of printable text.
func checkVersion(v string) error {
	switch {
	case len(v) > maxVersion:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadVersion, len(v), maxVersion)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("%w: %q has surrounding space", ErrBadVersion, v)
	case strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("%w: %q holds a control character or line break", ErrBadVersion, v)
	}
	return nil
}

// writeAtomic replaces path (the file a symlink there points to) with
// content: temp file in the same directory, fsync, rename, fsync of the
// directory. The old file's permissions are kept (0644 for a new file).
func writeAtomic(path, content string) (err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".ripcord-*")
	if err != nil {
		return fmt.Errorf("file: create temp file in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	_, werr := tmp.WriteString(content)
	if werr == nil {
		werr = tmp.Chmod(mode)
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("file: write %s: %w", tmp.Name(), werr)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("file: rename into %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes the rename itself durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("file: open %s to sync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("file: sync directory %s: %w", dir, err)
	}
	return nil
}

// confirm posts reload_url, then waits for health_url to answer 2xx,
// within timeout.
func (t *Target) confirm(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, t.cfg.Timeout)
	defer cancel()
	if t.cfg.ReloadURL != "" {
		if err := t.retry(ctx, http.MethodPost, t.cfg.ReloadURL, "reload_url"); err != nil {
			return err
		}
	}
	if t.cfg.HealthURL != "" {
		return t.retry(ctx, http.MethodGet, t.cfg.HealthURL, "health_url")
	}
	return nil
}

// retry calls the URL until it answers 2xx, a permanent answer comes,
// or ctx ends.
func (t *Target) retry(ctx context.Context, method, raw, field string) error {
	wait := retryEvery
	for attempt := 1; ; attempt++ {
		retryable, last := t.call(ctx, method, raw)
		if last == nil {
			return nil
		}
		what := fmt.Sprintf("%s %s %s", field, method, shortURL(raw))
		if !retryable {
			return fmt.Errorf("%w: %s: %v", ErrNotServing, what, last)
		}
		t.log.Debug("retrying", "call", what, "attempt", attempt, "error", last)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w: %s gave no 2xx within %s (%d attempts, last: %v): %w", ErrNotServing, what, t.cfg.Timeout, attempt, last, ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, retryMax)
	}
}

// call makes one attempt; the error never holds the URL's query.
func (t *Target) call(ctx context.Context, method, raw string) (retryable bool, err error) {
	req, err := http.NewRequestWithContext(ctx, method, raw, nil)
	if err != nil {
		return false, errors.New("cannot build the request")
	}
	req.Header.Set("User-Agent", "ripcord")
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the full URL
		}
		return true, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("HTTP %d", c)
	default:
		return false, fmt.Errorf("HTTP %d", c)
	}
}
