// Package revert is the seam between deciding and acting: a Target moves
// traffic from a bad version to an older one. Implementations: proxyswitch
// (the built-in blue-green switch); Kubernetes and model registries follow.
//
// Revert must be idempotent — reverting to the version already active is a
// success — because after a crash the controller re-runs every decision that
// was recorded but not confirmed.
package revert

import (
	"context"
	"errors"
	"time"
)

// ErrNothingToRevert means there is no version to go back to.
var ErrNothingToRevert = errors.New("revert: nothing to revert to")

// Request asks a target to make To the live version.
type Request struct {
	Service string
	From    string
	To      string
	Reason  string
	DryRun  bool
	// DecisionID is the store's ID of the decision this revert carries out
	// (0 when there is none, as for a manual dry run). Targets that call
	// out (webhook) derive their idempotency key from it, so a revert
	// re-run after a crash is recognised as the same one.
	DecisionID int64
}

// Result says what happened and how long it took.
type Result struct {
	From     string
	To       string
	Duration time.Duration
	DryRun   bool
	// Output is what the target's program or endpoint said (exec: its
	// stdout and stderr), size-capped and scrubbed of secrets, for the
	// incident timeline. Empty for most targets. A failed revert fills it
	// too, beside the error.
	Output string
}

// Status is what a target reports about a service.
type Status struct {
	Current string
}

// Target performs reverts for one service.
type Target interface {
	Status(ctx context.Context) (Status, error)
	Revert(ctx context.Context, req Request) (Result, error)
}

// Weighted is a target that can split a service's traffic between its
// stable version and a canary: the controller's canary steps set the
// canary's share through it, and a bad verdict or an abort sets it to 0.
// The built-in switch implements it (proxyswitch); a Gateway API HTTPRoute
// target sets its two backendRefs' weights.
//
// SetWeight must be idempotent (setting the share already live succeeds),
// as the controller re-runs a recorded step after a crash. percent is the
// canary's share, 0–100; 0 sends everything to stable, 100 everything to
// canary.
type Weighted interface {
	SetWeight(ctx context.Context, service, stable, canary string, percent int) error
}
