package mlflow

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/revert"
)

// Revert points the alias at req.To and reads it back. An alias already
// at req.To is a success with nothing written, so a revert re-run after a
// crash confirms the first. DryRun makes every check and writes nothing.
func (t *Target) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	if req.To == "" {
		return revert.Result{}, revert.ErrNothingToRevert
	}
	if n, err := strconv.ParseUint(req.To, 10, 63); err != nil || n == 0 {
		return revert.Result{}, fmt.Errorf("%w: %q (MLflow versions are 1, 2, 3, …)", ErrBadVersion, req.To)
	}
	ctx, cancel := t.op(ctx)
	defer cancel()
	start := time.Now()
	cur, err := t.current(ctx)
	if err != nil {
		return revert.Result{}, err
	}
	res := revert.Result{From: cur, To: req.To, DryRun: req.DryRun}
	if cur == req.To {
		res.Duration = time.Since(start)
		return res, nil
	}
	if req.From != "" && cur != req.From {
		return res, fmt.Errorf("%w: %s@%s is at version %s, not %s as decided: a new deploy? not reverting over it", ErrMoved, t.cfg.Model, t.cfg.Alias, cur, req.From)
	}
	if err := t.checkVersion(ctx, req.To); err != nil {
		return res, err
	}
	if req.DryRun {
		return res, nil
	}
	if err := t.setAlias(ctx, req.To); err != nil {
		return res, err
	}
	got, err := t.current(ctx)
	res.Duration = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("mlflow: alias set, but reading it back failed: %w", err)
	}
	if got != req.To {
		return res, fmt.Errorf("%w: set %s@%s to %s, read back %s (did something else move it?)", ErrVerify, t.cfg.Model, t.cfg.Alias, req.To, got)
	}
	t.log.Info("alias moved", "from", cur, "to", req.To, "took", res.Duration)
	return res, nil
}

// checkVersion refuses a version that does not exist or is not READY.
func (t *Target) checkVersion(ctx context.Context, version string) error {
	var out struct {
		MV wireVersion `json:"model_version"`
	}
	q := url.Values{"name": {t.cfg.Model}, "version": {version}}
	if err := t.call(ctx, http.MethodGet, "model-versions/get", q, nil, &out); err != nil {
		return fmt.Errorf("mlflow: version %s of %s: %w", version, t.cfg.Model, err)
	}
	if v := out.MV.version(); !v.Ready() {
		return fmt.Errorf("%w: version %s of %s is %s", ErrNotReady, version, t.cfg.Model, v.Status)
	}
	return nil
}

// setAlias is SetRegisteredModelAlias: it creates or moves the alias.
func (t *Target) setAlias(ctx context.Context, version string) error {
	t.mu.Lock()
	t.gen++
	t.mu.Unlock()
	body := struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}{t.cfg.Model, t.cfg.Alias, version}
	if err := t.call(ctx, http.MethodPost, "registered-models/alias", nil, body, nil); err != nil {
		return fmt.Errorf("mlflow: set alias %s@%s to %s: %w", t.cfg.Model, t.cfg.Alias, version, err)
	}
	t.mu.Lock()
	t.seen = version
	t.gen++
	t.mu.Unlock()
	return nil
}

// Poll reads the alias and reports whether it moved since the last Poll
// or revert: a move ripcord did not make is a deploy to watch. The first
// Poll reports the current version, unchanged.
func (t *Target) Poll(ctx context.Context) (current string, changed bool, err error) {
	t.mu.Lock()
	gen := t.gen
	t.mu.Unlock()
	cur, err := t.Current(ctx)
	if err != nil {
		return "", false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != gen {
		// A revert ran meanwhile; what we read may predate it.
		return t.seen, false, nil
	}
	changed = t.seen != "" && cur != t.seen
	t.seen = cur
	return cur, changed, nil
}

// Watch polls every interval (DefaultPollInterval when zero) until ctx
// ends, calling onMove(from, to) from its own goroutine each time the
// alias moved outside ripcord. Failed polls are logged and retried at the
// next tick. It returns ctx's error.
func (t *Target) Watch(ctx context.Context, interval time.Duration, onMove func(from, to string)) error {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	t.mu.Lock()
	prev := t.seen // what start-up read: a move before the first tick counts
	t.mu.Unlock()
	for {
		cur, moved, err := t.Poll(ctx)
		switch {
		case err != nil:
			t.log.Warn("polling the alias failed", "error", err)
		case moved:
			t.log.Info("alias moved outside ripcord", "from", prev, "to", cur)
			onMove(prev, cur)
			prev = cur
		default:
			prev = cur
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// wireVersion is MLflow's ModelVersion as JSON.
type wireVersion struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Created      millis `json:"creation_timestamp"`
	LastUpdated  millis `json:"last_updated_timestamp"`
	CurrentStage string `json:"current_stage"`
	Description  string `json:"description"`
	Source       string `json:"source"`
	RunID        string `json:"run_id"`
	Status       string `json:"status"`
	Tags         []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"tags"`
	Aliases []string `json:"aliases"`
}

func (w wireVersion) version() Version {
	v := Version{Version: w.Version, Status: w.Status, Created: w.Created.time(), RunID: w.RunID,
		Source: w.Source, Description: w.Description, Aliases: w.Aliases}
	if len(w.Tags) > 0 {
		v.Tags = make(map[string]string, len(w.Tags))
		for _, tag := range w.Tags {
			v.Tags[tag.Key] = tag.Value
		}
	}
	return v
}

// sortOldestFirst orders by version number (numerically, so 10 follows
// 9); anything not a number sorts after, by text.
func sortOldestFirst(vs []Version) {
	slices.SortStableFunc(vs, func(a, b Version) int {
		x, errA := strconv.ParseUint(a.Version, 10, 64)
		y, errB := strconv.ParseUint(b.Version, 10, 64)
		if errA == nil && errB == nil {
			return cmp.Compare(x, y)
		}
		if (errA == nil) != (errB == nil) {
			if errA == nil {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Version, b.Version)
	})
}
