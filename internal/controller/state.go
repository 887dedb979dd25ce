package controller

import (
	"errors"
	"slices"
)

// State is where a service stands in the state machine (DESIGN §4). It is
// persisted as its string.
type State string

// States of the service state machine. Shadowing and Canary are reserved
// for the phases a deploy will pass through before Watching; nothing enters
// them yet.
const (
	StateStable    State = "stable"
	StateWatching  State = "watching"
	StateReverting State = "reverting"
	StateVerifying State = "verifying"
	StateEscalated State = "escalated"
	StateShadowing State = "shadowing"
	StateCanary    State = "canary"
)

// known are the states a saved service may be in.
var known = []State{StateStable, StateWatching, StateReverting, StateVerifying, StateEscalated, StateShadowing, StateCanary}

// parseState reads a persisted state; anything unknown (a newer ripcord's
// state, a hand-edited database) is treated as stable, which only means the
// active version is watched again.
func parseState(s string) State {
	if slices.Contains(known, State(s)) {
		return State(s)
	}
	return StateStable
}

// ErrInvalid marks a command refused because of its arguments (HTTP 409 for
// now; a version that does not exist, a rollback to itself).
var ErrInvalid = errors.New("invalid request")
