package report

import (
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// Input is everything a report is built from; the caller reads it from the
// store. Build does no I/O and reads no clock.
type Input struct {
	Incident    incident.Incident  // with Events (timeline), oldest first
	Decisions   []store.Decision   // this incident's decisions, oldest first
	Deployments []store.Deployment // the service's deployments around the incident, oldest first
	// Metrics are per-second points (one per serving version per second)
	// from ~5 min before impact start to ~5 min after mitigation.
	Metrics []store.MetricPoint
	// Thresholds bound metrics by name, for the detection table and the
	// threshold lines of the charts.
	Thresholds map[string]Threshold
	// RecentRollbacks counts rollbacks of the service in the last 7 days,
	// this one included.
	RecentRollbacks int
	// ChangeCauses maps a version to what it changed (commit subject, PR
	// title, change-cause annotation). Optional: store.Deployment has no
	// field for it, so callers that know it pass it here.
	ChangeCauses map[string]string
	GeneratedAt  time.Time
}

// Threshold is one metric's configured bounds; nil means unset.
type Threshold struct{ Max, Min, Critical *float64 }

// Report is a built post-incident report: every number the sections show,
// computed once by Build and rendered by Markdown and HTML.
type Report struct {
	Incident        incident.Incident // as given, timeline included
	Title           string
	Summary         string // one plain-text paragraph
	GeneratedAt     time.Time
	Moments         Moments
	Impact          Impact
	Checks          []Check       // one per "detected" event
	Anomalous       []string      // metrics any check found anomalous, in order of first finding
	Decisions       []DecisionRow // the decision trace
	Thresholds      map[string]Threshold
	Phases          []Phase  // before, during, after
	Seconds         []Second // all versions' points summed per second, oldest first
	Markers         []Marker // deploy, decision and rollback instants, for charts
	Versions        []VersionRow
	Deployments     []DeploymentRow
	Verification    Verification
	ActionItems     []string
	RecentRollbacks int
}

// Moments are the instants the incident is told around. A zero time means
// it did not happen (yet).
type Moments struct {
	Detected      time.Time // first "detected" event (or the first decision)
	RollbackDone  time.Time // last "rollback_done" event
	SwitchTook    time.Duration
	FirstNotified time.Time // first "notified" event
	Verified      time.Time // last "verified" event
}

// Impact is what the users of the service went through, in exact numbers.
type Impact struct {
	Start, End time.Time
	// EndedBy names what ended the window: "rollback done", "mitigated",
	// "resolved"; empty while Ongoing, when End is the report's GeneratedAt.
	EndedBy  string
	Ongoing  bool
	Duration time.Duration
	// BadVersions were judged bad (or rolled back from) during the incident.
	BadVersions []string
	HasMetrics  bool
	// Requests and Failed count the bad versions' traffic in seconds that
	// overlap the window; ErrorShare is Failed/Requests.
	Requests, Failed int64
	ErrorShare       float64
	// ExcessFailed is Failed beyond what the before phase's error rate
	// predicts for that many requests, when there is a before phase.
	ExcessFailed int64
	HasBaseline  bool
	// LateRequests completed on a bad version after the window ended
	// (in flight when traffic switched).
	LateRequests, LateFailed int64
	// UserFacing is how long, inside the window, a bad version served
	// requests; without metric points it is the whole window (UserFacingKnown false).
	UserFacing      time.Duration
	UserFacingKnown bool
}

// Check is one "detected" event: what the detector saw on one version.
type Check struct {
	At       time.Time
	Version  string
	Message  string
	Findings []FindingRow
}

// FindingRow is one metric's finding with the thresholds configured for it.
type FindingRow struct {
	detect.Finding
	Bounds Threshold
}

// DecisionRow is one decision with its snapshot in name order.
type DecisionRow struct {
	store.Decision
	Values []Value
}

// Value is one named number of a snapshot.
type Value struct {
	Name string
	V    float64
}

// Phase is the traffic of every version over one stretch of time.
type Phase struct {
	Name     string // "before", "during", "after"
	From, To time.Time
	Seconds  int // seconds with at least one point
	Requests int64
	Errors   int64
	// ErrorRate is Errors/Requests, 0 without requests.
	ErrorRate float64
	// P50 and P99 are request-weighted medians of the per-second values,
	// WorstP99 the highest per-second p99; valid when HasLatency.
	P50, P99, WorstP99 float64
	HasLatency         bool
}

// Second is all versions' points of one instant: requests and errors
// summed, p50 request-weighted, p99 the highest.
type Second struct {
	At               time.Time
	Requests, Errors int64
	P50, P99         float64
	HasLatency       bool
	Versions         []string
}

// Marker is an instant drawn across the charts.
type Marker struct {
	At    time.Time
	Label string // "deploy", "detected", "rollback"
}

// VersionRow is one version the incident moved between.
type VersionRow struct {
	Name, Role  string
	URL         string
	DeployedBy  string
	DeployedAt  time.Time
	ChangeCause string
}

// DeploymentRow is a deployment with what it changed, if known.
type DeploymentRow struct {
	store.Deployment
	ChangeCause string
}

// Verification is how the version rolled back to was confirmed healthy.
type Verification struct {
	Done     bool
	At       time.Time
	Message  string
	Values   []Value
	Failures []incident.Event // rollback_failed and escalated events
}

// Build computes every section of the report from in. It is pure and
// deterministic: the same Input gives the same Report.
func Build(in Input) Report {
	inc := in.Incident
	r := Report{
		Incident: inc, Title: title(inc), GeneratedAt: in.GeneratedAt,
		Thresholds: in.Thresholds, RecentRollbacks: in.RecentRollbacks,
	}
	r.Moments = moments(inc.Events, in.Decisions)
	r.Impact = window(inc, in.GeneratedAt)
	r.Seconds = perSecond(in.Metrics)
	r.Phases = phases(r.Seconds, r.Impact)
	measureImpact(&r.Impact, in.Metrics, r.Phases)
	r.Checks, r.Anomalous = checks(inc, in.Thresholds)
	r.Decisions = decisionRows(in.Decisions)
	r.Markers = markers(r.Impact, r.Moments, inc.Events, in.Deployments)
	r.Versions, r.Deployments = versions(r.Impact, inc, in.Deployments, in.ChangeCauses)
	r.Verification = verification(inc.Events)
	r.Summary = summary(r, in.Deployments)
	r.ActionItems = actionItems(r)
	return r
}

func title(inc incident.Incident) string {
	t := inc.Title
	if t == "" {
		t = inc.Service + " incident"
	}
	if inc.ID == "" {
		return t
	}
	return inc.ID + " — " + t
}
