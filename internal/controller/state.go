package controller

import (
	"errors"
	"fmt"
	"slices"
)

// State is where a service stands in the state machine (DESIGN §4). It is
// persisted as its string.
type State string

// States of the service state machine. Canary is a deploy ramping its
// share of traffic (step_canary.go); Shadowing is reserved for the phase a
// deploy will pass through before that.
const (
	StateStable    State = "stable"
	StateWatching  State = "watching"
	StateReverting State = "reverting"
	StateVerifying State = "verifying"
	StateEscalated State = "escalated"
	StateShadowing State = "shadowing"
	StateCanary    State = "canary"
)

// transitions lists, per state, the states it may move to. A move that is
// not listed is a bug in the step, and the step refuses it as a whole.
var transitions = map[State][]State{
	// deploy; bad verdict with an older version (revert) or without (escalate)
	StateStable: {StateWatching, StateShadowing, StateCanary, StateReverting, StateEscalated},
	// bake passed; redeploy; bad verdict
	StateWatching: {StateStable, StateWatching, StateShadowing, StateCanary, StateReverting, StateEscalated},
	// done → verify; failed → escalate; restart without a finished decision,
	// or a dry run, → back to watching or stable
	StateReverting: {StateVerifying, StateEscalated, StateStable, StateWatching},
	// verified; older also bad (fallback) or chain exhausted; a person deploys
	StateVerifying: {StateStable, StateReverting, StateEscalated, StateWatching, StateShadowing, StateCanary},
	// resume; a person deploys or rolls back
	StateEscalated: {StateStable, StateWatching, StateShadowing, StateCanary, StateReverting},
	// healthy after shadow.duration (canary or watch); redeploy; caught
	// (stopped: stable on the version users stayed on); abort
	StateShadowing: {StateCanary, StateWatching, StateShadowing, StateReverting, StateEscalated, StateStable},
	// next step or a new canary; 100 % (watch as blue-green); bad verdict;
	// abort (back to stable)
	StateCanary: {StateCanary, StateWatching, StateShadowing, StateReverting, StateEscalated, StateStable},
}

// CanMove reports whether the state machine allows s → to.
func (s State) CanMove(to State) bool { return slices.Contains(transitions[s], to) }

// parseState reads a persisted state; anything unknown (a newer ripcord's
// state, a hand-edited database) is treated as stable, which only means the
// active version is watched again.
func parseState(s string) State {
	if _, ok := transitions[State(s)]; ok {
		return State(s)
	}
	return StateStable
}

// ErrInvalid marks a command refused because of its arguments (HTTP 409 for
// now; a version that does not exist, a rollback to itself).
var ErrInvalid = errors.New("invalid request")

// ErrConflict marks a command refused because of the state the service is
// in: a deploy, resume or manual rollback while a revert is in flight. The
// message names the state; the command may be retried once it has changed.
var ErrConflict = errors.New("conflict with the service state")

// errTransition is a step that tried a move the table does not allow.
var errTransition = errors.New("controller: transition not allowed")

func conflict(service string, st State, active, command string) error {
	return fmt.Errorf("%w: %s is %s (traffic leaving %s); %s refused until the revert completes, see `ripcord status %s`",
		ErrConflict, service, st, active, command, service)
}
