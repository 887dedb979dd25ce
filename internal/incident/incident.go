// Package incident holds what ripcord records when something goes wrong: an
// Incident with a severity, a status and an append-only timeline of Events.
//
// The timeline is append-only on purpose: a post-incident review needs to see
// every decision as it was made, including the ones that later turned out to
// be wrong, so events are never edited or removed.
package incident

import (
	"fmt"
	"time"
)

// Severity orders how loudly an incident is announced.
type Severity string

const (
	Minor    Severity = "minor"
	Major    Severity = "major"
	Critical Severity = "critical"
)

// Rank orders severities: minor < major < critical.
func (s Severity) Rank() int {
	switch s {
	case Minor:
		return 1
	case Major:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// Status is where the response stands, as on a public status page.
type Status string

const (
	Investigating Status = "investigating"
	Identified    Status = "identified"
	Monitoring    Status = "monitoring"
	Resolved      Status = "resolved"
)

// Kind says what opened the incident.
type Kind string

const (
	KindRollback   Kind = "rollback"    // an automatic rollback ran
	KindManual     Kind = "manual"      // a person asked for a rollback
	KindEscalation Kind = "escalation"  // the fallback chain is exhausted or a revert failed
	KindBlind      Kind = "blind"       // signals have been missing past the grace period
	KindDegraded   Kind = "degraded"    // a version is bad but no rollback was possible
	KindDryRun     Kind = "dry_run"     // policy.dry_run: an automatic rollback that was announced, not carried out
	KindSuspect    Kind = "suspect"     // a version anomalous past suspect_grace, but not enough to revert
	KindCanaryHeld Kind = "canary_held" // a canary step had no verdict by max_step: held there
	// KindDrill is a rehearsal (`ripcord drill`): a fault injected on a
	// share of traffic and its rollback. It is announced only on routes
	// with drills: true and counts as no rollback anywhere.
	KindDrill      Kind = "drill"
	KindShadow     Kind = "shadow"      // a deploy caught in shadow, stopped before any user met it
	KindShadowHeld Kind = "shadow_held" // a version in shadow had no verdict long after shadow.duration: held there
)

// Incident is one thing that went wrong with one service.
type Incident struct {
	ID       string   `json:"id"`
	Service  string   `json:"service"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	Status   Status   `json:"status"`
	Title    string   `json:"title"`
	// Reason is the verdict that opened it, in numbers.
	Reason      string `json:"reason"`
	FromVersion string `json:"from_version,omitempty"`
	ToVersion   string `json:"to_version,omitempty"`
	// Installation is the store's installation id when the incident was
	// created (set by the store), "" for incidents from before installation
	// ids: notification channels build event ids and dedup keys from it and
	// ID, so keys stay what they were first announced as.
	Installation string `json:"installation,omitempty"`

	ImpactStartedAt   time.Time `json:"impact_started_at,omitzero"`
	DetectedAt        time.Time `json:"detected_at,omitzero"`
	RollbackStartedAt time.Time `json:"rollback_started_at,omitzero"`
	MitigatedAt       time.Time `json:"mitigated_at,omitzero"`
	ResolvedAt        time.Time `json:"resolved_at,omitzero"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`

	Events []Event `json:"events,omitempty"`
}

// Open reports whether the incident still needs attention.
func (i *Incident) Open() bool { return i.Status != Resolved }

// Event is one line of the timeline.
type Event struct {
	// Seq is the event's position in the store's global, append-only event
	// log; notification delivery uses it as its cursor. Zero until stored.
	Seq     int64     `json:"seq,omitempty"`
	At      time.Time `json:"at"`
	Type    string    `json:"type"`  // e.g. "detected", "rollback_started", "note"
	Actor   string    `json:"actor"` // "ripcord" or the token name of a person
	Message string    `json:"message"`
	// Data carries the numbers behind the event (metric snapshot, from/to).
	Data map[string]any `json:"data,omitempty"`
}

// Event types written by ripcord itself.
const (
	EvOpened          = "opened"
	EvDetected        = "detected"
	EvDecision        = "decision"
	EvRollbackStarted = "rollback_started"
	EvRollbackDone    = "rollback_done"
	EvRollbackFailed  = "rollback_failed"
	EvVerified        = "verified"
	EvFallback        = "fallback"
	EvEscalated       = "escalated"
	EvSuppressed      = "suppressed"
	EvStatus          = "status"
	EvNote            = "note"
	EvDataReturned    = "data_returned"
	EvCleared         = "cleared"       // a suspect version turned healthy, or was reverted or replaced
	EvNotifyFailed    = "notify_failed" // a channel refused or kept failing
	EvNotified        = "notified"      // first delivery to a channel
	EvReport          = "report"        // the post-incident report was written
)

// IsDelivery reports whether an event records a notification's delivery
// rather than a change of the incident; channels are not told about these.
func IsDelivery(typ string) bool { return typ == EvNotifyFailed || typ == EvNotified }

// ValidTransition reports whether a status may move from → to. Status only
// moves forward, except that a person may reopen a monitoring incident to
// investigating when the fix did not hold.
func ValidTransition(from, to Status) bool {
	rank := map[Status]int{Investigating: 1, Identified: 2, Monitoring: 3, Resolved: 4}
	if rank[to] == 0 || rank[from] == 0 {
		return false
	}
	if from == Monitoring && to == Investigating {
		return true
	}
	return rank[to] > rank[from]
}

// ParseStatus validates a status name from the API.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Investigating, Identified, Monitoring, Resolved:
		return st, nil
	}
	return "", fmt.Errorf("incident: unknown status %q (want investigating, identified, monitoring or resolved)", s)
}
