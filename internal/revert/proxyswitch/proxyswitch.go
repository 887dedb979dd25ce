// Package proxyswitch reverts by flipping ripcord's own traffic switch: the
// fastest revert there is (one atomic pointer store), and the embedded
// default. It also sets canary shares (revert.Weighted); a revert during a
// canary activates the stable version, which ends the canary at once.
package proxyswitch

import (
	"context"
	"fmt"
	"time"

	"github.com/ripcord/ripcord/internal/revert"
)

// Switch is the part of proxy.Switch a revert and a canary need.
type Switch interface {
	Activate(name string) (previous string, err error)
	Active() string
	SetWeight(stable, canary string, percent int) error
}

// Target reverts a service by activating an older version in its switch.
type Target struct {
	sw  Switch
	now func() time.Time
}

var (
	_ revert.Target   = (*Target)(nil)
	_ revert.Weighted = (*Target)(nil)
)

// New wraps a switch.
func New(sw Switch) *Target { return &Target{sw: sw, now: time.Now} }

// Status reports the active version.
func (t *Target) Status(context.Context) (revert.Status, error) {
	return revert.Status{Current: t.sw.Active()}, nil
}

// SetWeight gives canary percent of new requests and stable the rest (0:
// all on stable, 100: all on canary); setting the share already live
// succeeds.
func (t *Target) SetWeight(_ context.Context, _, stable, canary string, percent int) error {
	if err := t.sw.SetWeight(stable, canary, percent); err != nil {
		return fmt.Errorf("proxyswitch: canary %s at %d%%: %w", canary, percent, err)
	}
	return nil
}

// Revert activates req.To; activating the version already live succeeds.
func (t *Target) Revert(_ context.Context, req revert.Request) (revert.Result, error) {
	if req.To == "" {
		return revert.Result{}, revert.ErrNothingToRevert
	}
	res := revert.Result{From: t.sw.Active(), To: req.To, DryRun: req.DryRun}
	if req.DryRun {
		return res, nil
	}
	start := t.now()
	if _, err := t.sw.Activate(req.To); err != nil {
		return res, fmt.Errorf("proxyswitch: activate %s: %w", req.To, err)
	}
	res.Duration = t.now().Sub(start)
	return res, nil
}
