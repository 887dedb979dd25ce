package controller

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// An effect is one thing the step wants done, as data. The executor (exec.go)
// carries effects out in the order the step listed them; nothing else in the
// controller writes to the store, the router or the target. Each effect
// prints as one line, which is how the step's tests read them.
type effect interface{ String() string }

// transition records a state change the step made (logged at Info).
type transition struct {
	from, to State
	reason   string
}

// save persists the machine as it stands when the effect runs. With must
// the command reports a failed save (the machine is kept all the same: it
// describes what the router and the target already do).
type save struct{ must bool }

// slot says where the ID of a new incident is kept.
type slot int

const (
	slotNone    slot = iota
	slotChain        // machine.IncidentID: the incident of the current chain
	slotBlind        // machine.BlindIncident
	slotSuspect      // machine.SuspectIncident
)

// openIncident creates inc (its events included) and keeps the ID in slot.
type openIncident struct {
	slot slot
	inc  incident.Incident
	must bool // a command fails when this fails
}

// incRef names an incident whose ID may not exist yet when the step runs.
type incRef struct {
	id     string
	chain  bool // machine.IncidentID when the effect runs
	opened bool // the incident the latest openIncident of this pass created
}

var (
	chainIncident  = incRef{chain: true}
	openedIncident = incRef{opened: true}
)

func byID(id string) incRef { return incRef{id: id} }

// changeIncident applies change to an incident and appends events, in one
// store transaction; a zero change only appends.
type changeIncident struct {
	ref    incRef
	change incidentChange
	events []incident.Event
}

// incidentChange is what the controller changes on an incident, as data so
// it can be applied to the incident's current row inside the transaction
// (never to a stale copy).
type incidentChange struct {
	// Advance moves the status forward to this one when that is a valid
	// transition from where it is now; it never moves a status back, so a
	// person's "resolved" stays resolved.
	Advance   incident.Status
	Severity  incident.Severity // raise to this, if set
	ToVersion string
	// RollbackStarted, Mitigated and Resolved stamp the time of the first
	// event, unless already stamped.
	RollbackStarted, Mitigated, Resolved bool
}

func (c incidentChange) zero() bool { return c == incidentChange{} }

// recordDecision stores d (pending) before the action it describes, with
// the machine as it then stands (reverting), in one store transaction:
// the one commit between a verdict and the switch.
type recordDecision struct {
	d   store.Decision
	inc incRef
}

// linkDecision names the incident a decision was taken without (an
// automatic rollback's, opened after the switch).
type linkDecision struct {
	id  int64 // 0: the decision this pass recorded or reverted
	inc incRef
}

// afterDecision is the crash point tests stop at (Hooks.AfterDecision).
type afterDecision struct{}

// afterIncident is the crash point after an automatic decision's incident
// is written and before the decision is finished (Hooks.AfterIncident).
type afterIncident struct{ d store.Decision }

// revert asks the target to carry out a decision: the one given, or the one
// the latest recordDecision of this pass stored. It is always the last
// effect of a pass: the executor releases the service mutex while the target
// works, then feeds the outcome back to the step as a reverted input.
//
// verdict is the result the decision was taken on, for the incident written
// after the switch; nil when recovering a decision after a restart.
type targetRevert struct {
	d       *store.Decision
	verdict *detect.Result
}

// targetWeight asks the target to set the canary share of a decision:
// the one given (a restart's), or the one the latest recordDecision of
// this pass stored. Like targetRevert it is the last effect of a pass; the
// executor releases the service mutex while the target works and feeds the
// outcome back as a weighted input.
type targetWeight struct{ d *store.Decision }

type finishDecision struct {
	id             int64
	status, result string
	last           bool // id is the decision this pass recorded
}

// route tells the traffic router about a version.
type route struct {
	op      routeOp
	version string
	url     string
	must    bool
	// routeWeight: the stable version and the canary's share.
	stable  string
	percent int
}

type routeOp int

const (
	routeRegister   routeOp = iota // SetVersion(version, url)
	routeActivate                  // Activate(version)
	routeFallback                  // SetFallback(version)
	routeWeight                    // the target's SetWeight(fallback, version, percent) at start-up
	routeShadow                    // the router's StartShadow(stable, version)
	routeStopShadow                // the router's StopShadow()
)

type recordDeployment struct{ d store.Deployment }

// count updates ripcord's own metrics.
type count struct {
	decision string // ripcord_decisions_total{action}
	rollback bool   // ripcord_rollbacks_total
}

// note is a log line worth keeping besides the transitions.
type note struct {
	level slog.Level
	msg   string
	args  []any
}

func (e transition) String() string {
	return fmt.Sprintf("state %s → %s: %s", e.from, e.to, e.reason)
}
func (e save) String() string { return "save" + mustText(e.must) }
func (e openIncident) String() string {
	return fmt.Sprintf("open %s %s incident %q%s%s", e.inc.Severity, e.inc.Kind, e.inc.Title, slotText(e.slot), mustText(e.must))
}
func (e changeIncident) String() string {
	s := "incident " + e.ref.String()
	if !e.change.zero() {
		s += fmt.Sprintf(" change %+v", e.change)
	}
	for _, ev := range e.events {
		s += fmt.Sprintf(" +%s %q", ev.Type, ev.Message)
	}
	return s
}
func (e recordDecision) String() string {
	return fmt.Sprintf("decision %s %s → %s (incident %s)", e.d.Action, e.d.FromVersion, e.d.ToVersion, e.inc)
}
func (afterDecision) String() string  { return "after decision" }
func (afterIncident) String() string  { return "after incident" }
func (e linkDecision) String() string { return fmt.Sprintf("link decision %d to %s", e.id, e.inc) }
func (e targetRevert) String() string {
	if e.d == nil {
		return "revert"
	}
	return fmt.Sprintf("revert decision %d", e.d.ID)
}
func (e targetWeight) String() string {
	if e.d == nil {
		return "set canary share"
	}
	return fmt.Sprintf("set canary share of decision %d", e.d.ID)
}
func (e finishDecision) String() string {
	return fmt.Sprintf("finish decision %d %s: %s", e.id, e.status, e.result)
}
func (e route) String() string {
	op := [...]string{"register", "activate", "fallback", "weight", "shadow", "stop shadow"}[e.op]
	if e.op == routeShadow {
		return fmt.Sprintf("route shadow %q (stable %q)%s", e.version, e.stable, mustText(e.must))
	}
	if e.op == routeWeight {
		return fmt.Sprintf("route weight %q %d%% (stable %q)%s", e.version, e.percent, e.stable, mustText(e.must))
	}
	return fmt.Sprintf("route %s %q%s", op, e.version, mustText(e.must))
}
func (e recordDeployment) String() string {
	return fmt.Sprintf("deployment %s by %s", e.d.Version, e.d.Actor)
}
func (e count) String() string {
	if e.rollback {
		return "count rollback"
	}
	return "count decision " + e.decision
}
func (e note) String() string { return fmt.Sprintf("log %s %s", e.level, e.msg) }

func (r incRef) String() string {
	switch {
	case r.chain:
		return "chain"
	case r.opened:
		return "opened"
	}
	return r.id
}

func mustText(must bool) string {
	if must {
		return " (must)"
	}
	return ""
}

func slotText(s slot) string {
	switch s {
	case slotChain:
		return " → chain"
	case slotBlind:
		return " → blind"
	case slotSuspect:
		return " → suspect"
	}
	return ""
}

// apply changes inc as c says, at time at.
func (c incidentChange) apply(inc *incident.Incident, at time.Time) {
	if c.Advance != "" && incident.ValidTransition(inc.Status, c.Advance) {
		inc.Status = c.Advance
	}
	if c.Severity != "" && c.Severity.Rank() > inc.Severity.Rank() {
		inc.Severity = c.Severity
	}
	if c.ToVersion != "" {
		inc.ToVersion = c.ToVersion
	}
	stamp := func(t *time.Time, on bool) {
		if on && t.IsZero() {
			*t = at
		}
	}
	stamp(&inc.RollbackStartedAt, c.RollbackStarted)
	stamp(&inc.MitigatedAt, c.Mitigated)
	stamp(&inc.ResolvedAt, c.Resolved)
}
