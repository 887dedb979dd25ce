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
}

// Result says what happened and how long it took.
type Result struct {
	From     string
	To       string
	Duration time.Duration
	DryRun   bool
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
