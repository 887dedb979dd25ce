// Package store is ripcord's persistence seam. The embedded default is
// store/sqlite; a PostgreSQL store will follow, and both must pass the one
// conformance suite in store/storetest.
//
// The invariant the controller relies on: a Decision is written (status
// pending) before its action runs and marked done after, so a restart finds
// every interrupted action and completes it exactly once.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// ServiceState is what survives a restart about one service.
type ServiceState struct {
	Name   string
	Active string // version receiving traffic
	// State is the controller state: stable, watching, reverting, verifying,
	// escalated.
	State  string
	Paused bool
	// WatchSince is when the active version started being judged (deploy or
	// switch time); verdicts ignore samples before it.
	WatchSince time.Time
	// CooldownUntil blocks a new automatic rollback before it.
	CooldownUntil time.Time
	// IncidentID is the open incident the current chain belongs to, if any.
	IncidentID string
	// Fallbacks counts revert steps taken in the current incident.
	Fallbacks int
	Versions  []Version // oldest first
	UpdatedAt time.Time
	// Canary is the canary in progress while State is canary, or the
	// shadow in progress while State is shadowing (Stable: the version
	// serving users, Since: when the shadow began); zero otherwise. Active
	// is then the canary, or the version in shadow. A shadow needs nothing
	// more persisted, so it shares the canary's column (SQLite schema v6,
	// PostgreSQL migration 4).
	Canary Canary
}

// Canary is where a canary stands: the version keeping the rest of the
// traffic, the step (an index into the service's strategy.canary.steps)
// and when the canary began (WatchSince is when the step began).
type Canary struct {
	Stable string    `json:"stable"`
	Step   int       `json:"step"`
	Since  time.Time `json:"since"`
}

// Version is a known version of a service.
type Version struct {
	Name     string
	URL      string
	KnownBad bool
	// BadReason says why it was marked, for `ripcord status`.
	BadReason string
	AddedAt   time.Time
}

// Deployment records that a version was activated on purpose.
type Deployment struct {
	ID      int64
	Service string
	Version string
	URL     string
	Actor   string
	At      time.Time
}

// Decision statuses.
const (
	DecisionPending = "pending" // recorded, action not yet confirmed
	DecisionDone    = "done"
	DecisionFailed  = "failed"
)

// Decision is one action the controller chose, with the numbers behind it.
type Decision struct {
	ID          int64
	Service     string
	Action      string // "rollback", "fallback", "escalate", "manual_rollback"
	FromVersion string
	ToVersion   string
	Reason      string
	IncidentID  string
	// Snapshot is the metric values behind the decision, by metric name, for
	// the active version and (prefixed "baseline.") the one before it.
	Snapshot  map[string]float64
	Status    string
	Result    string // human-readable outcome or error
	CreatedAt time.Time
	DoneAt    time.Time
}

// IncidentFilter narrows ListIncidents. Zero fields match everything.
type IncidentFilter struct {
	Service  string
	OpenOnly bool
	Kind     incident.Kind
	Limit    int // default 100
}

// ServicesSaver is a Store that saves many services' states in one
// transaction: all of them or none. A daemon starting 10,000 services
// writes each one's boot state; one commit each was 10,000 fsyncs.
type ServicesSaver interface {
	SaveServices(ctx context.Context, states []ServiceState) error
}

// Store is implemented by store/sqlite (and later store/postgres).
// All methods are safe for concurrent use.
type Store interface {
	// SaveService inserts or replaces the whole state of one service,
	// including its version list, atomically.
	SaveService(ctx context.Context, s ServiceState) error
	// LoadService returns ErrNotFound for an unknown service.
	LoadService(ctx context.Context, name string) (ServiceState, error)
	// ListServices returns every service with its versions, ordered by name.
	ListServices(ctx context.Context) ([]ServiceState, error)

	RecordDeployment(ctx context.Context, d Deployment) (int64, error)
	// ListDeployments returns the most recently recorded first. service ""
	// means every service; limit <= 0 means 100 (as in IncidentFilter).
	ListDeployments(ctx context.Context, service string, limit int) ([]Deployment, error)

	// RecordDecision stores d with Status pending (whatever d.Status says)
	// and returns its ID.
	RecordDecision(ctx context.Context, d Decision) (int64, error)
	// Decide is RecordDecision and SaveService in one transaction: the
	// decision and the state saying an action is in flight become durable
	// together, in the one commit between a verdict and the action.
	Decide(ctx context.Context, d Decision, st ServiceState) (int64, error)
	// LinkDecision sets the incident of a decision recorded before its
	// incident was opened (after the switch, to keep the switch one commit
	// from the verdict). ErrNotFound for an unknown decision.
	LinkDecision(ctx context.Context, id int64, incidentID string) error
	// FinishDecision sets the status (done or failed), result and DoneAt.
	// Finishing an already finished decision returns an error wrapping
	// ErrAlreadyFinished, which is how "exactly once" is enforced.
	FinishDecision(ctx context.Context, id int64, status, result string, at time.Time) error
	// PendingDecisions returns oldest first: the order they were taken in,
	// which is the order a restart completes them.
	PendingDecisions(ctx context.Context) ([]Decision, error)
	// ListDecisions orders, filters and limits like ListDeployments.
	ListDecisions(ctx context.Context, service string, limit int) ([]Decision, error)

	// InstallationID identifies this store's installation: generated once,
	// when the store is created, and never changed. Incident IDs are unique
	// only within one store; event ids and dedup keys add this.
	InstallationID(ctx context.Context) (string, error)

	// CreateIncident stores inc (its Events too) and returns the ID it
	// assigned (inc.ID is ignored): "INC-" followed by a zero-padded sequence.
	// The incident is stamped with the store's InstallationID
	// (inc.Installation is ignored too), which it keeps for good.
	CreateIncident(ctx context.Context, inc incident.Incident) (string, error)
	// UpdateIncident is one read-modify-write transaction on incident id:
	// it reads the incident (without its timeline), lets fn change it, and
	// writes back the mutable fields (severity, status, title, reason,
	// versions, timestamps except CreatedAt) with evs and then any events fn
	// appended to inc.Events added to the timeline. No other writer can come
	// between the read and the write, so an update is never lost and never
	// made on a stale copy. ID, Service, Kind and CreatedAt stay as created,
	// whatever fn does. A status change must be incident.ValidTransition,
	// else nothing is written and the error wraps ErrInvalidTransition. An
	// error from fn aborts the transaction and is returned wrapped. fn must
	// not call the store (the transaction holds it). An unknown id is
	// ErrNotFound. A change and the event announcing it (which is what
	// notifications are delivered from) cannot be separated by a crash.
	UpdateIncident(ctx context.Context, id string, fn func(*incident.Incident) error, evs ...incident.Event) error
	// AppendEvent adds one event to the timeline.
	AppendEvent(ctx context.Context, id string, ev incident.Event) error
	// GetIncident returns the incident with its whole timeline, oldest first
	// (in append order, which also settles events with equal At).
	GetIncident(ctx context.Context, id string) (incident.Incident, error)
	// ListIncidents returns newest (most recently created) first, without
	// timelines.
	ListIncidents(ctx context.Context, f IncidentFilter) ([]incident.Incident, error)

	// EventsAfter returns up to limit timeline events of any incident whose
	// Seq is greater than after, in Seq order. With the per-consumer cursors
	// below it turns the timeline into a durable outbox: an event and the
	// incident change it records are written in one transaction, and a
	// consumer that crashes before moving its cursor sees the event again.
	EventsAfter(ctx context.Context, after int64, limit int) ([]EventRef, error)
	// LastEventSeq is the Seq of the newest event, 0 when there is none.
	LastEventSeq(ctx context.Context) (int64, error)
	// Cursor returns a consumer's position; found is false for a new consumer.
	Cursor(ctx context.Context, name string) (seq int64, found bool, err error)
	SetCursor(ctx context.Context, name string, seq int64) error

	// ChannelState is a notification channel's handle for an incident (a
	// Slack message ts, a Statuspage incident id), "" when none.
	ChannelState(ctx context.Context, channel, incidentID string) (string, error)
	SetChannelState(ctx context.Context, channel, incidentID, value string) error

	// RecordMetrics stores per-second statistics for reports.
	RecordMetrics(ctx context.Context, pts []MetricPoint) error
	// Metrics returns a service's points with From <= At <= To, oldest first.
	Metrics(ctx context.Context, service string, from, to time.Time) ([]MetricPoint, error)
	// PruneMetrics deletes points older than before and says how many.
	PruneMetrics(ctx context.Context, before time.Time) (int64, error)

	// CreateSession stores a dashboard session; a Hash already stored is
	// an error (the caller drew a fresh random secret, so it is a bug).
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session with this hash unless it expired at now:
	// unknown and expired are both ErrNotFound.
	Session(ctx context.Context, hash string, now time.Time) (Session, error)
	// DeleteSession removes a session (sign-out); an unknown hash is not
	// an error, so signing out twice is fine.
	DeleteSession(ctx context.Context, hash string) error
	// PruneSessions deletes sessions that expired before now and says how
	// many.
	PruneSessions(ctx context.Context, now time.Time) (int64, error)

	Close() error
}

// Session is one signed-in dashboard user. The store keeps only the hash
// of the cookie's secret, so a copy of the database signs nobody in; it
// survives a restart, so a restart signs nobody out.
type Session struct {
	Hash      string // hex SHA-256 of the cookie's secret
	TokenName string // the API token it was exchanged for
	Role      string // the token's role at sign-in
	CreatedAt time.Time
	ExpiresAt time.Time
}

// EventRef is a timeline event with the incident it belongs to.
type EventRef struct {
	IncidentID string
	Event      incident.Event
}

// MetricPoint is one interval of one version's live statistics, kept so a
// post-incident report can show before / during / after.
type MetricPoint struct {
	Service  string             `json:"service"`
	Version  string             `json:"version"`
	At       time.Time          `json:"at"` // end of the interval
	Requests int64              `json:"requests"`
	Errors   int64              `json:"errors"`
	P50Ms    float64            `json:"p50_ms"`
	P99Ms    float64            `json:"p99_ms"`
	Values   map[string]float64 `json:"values,omitempty"` // pushed metrics
}

// ErrInvalidTransition is returned by UpdateIncident for a status change
// incident.ValidTransition refuses (a stale "monitoring" after a person's
// "resolved").
var ErrInvalidTransition = errors.New("store: invalid incident status change")

// ErrAlreadyFinished is returned by FinishDecision for a decision that is no
// longer pending.
var ErrAlreadyFinished = errors.New("store: decision already finished")
