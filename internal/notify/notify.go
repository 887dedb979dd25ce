// Package notify tells people about incidents. Each channel (Slack,
// PagerDuty, Statuspage, Jira, GitHub, webhooks, Alertmanager, Teams, email)
// is its own subpackage implementing Notifier, shaped like Alertmanager's
// notify/webhook: a config struct, New, and Notify.
//
// Delivery is at-least-once from a durable outbox, so every channel must make
// a repeat of the same Message harmless: use Message.DedupKey (derived from
// the installation and incident IDs, Message.ScopedID — incident IDs alone
// repeat across installations; an incident from before installation ids
// keeps its old, bare key) where the service supports it, look up what was created
// before creating again where it does not, and keep the per-incident handle
// (Slack message ts, Statuspage incident id, Jira key) in State, through
// Handles, dropping a Message that is Stale.
//
// Errors say whether a retry can help: wrap transient failures with
// Retryable (408, 429, 5xx, network errors; honour Retry-After), return
// anything else as permanent (400, 401, 403, 404, 410). Secrets never appear
// in an error: build messages from the status and the endpoint's path, not
// from the URL with its token or the request headers (NetworkError drops
// it). A Config holds its credentials as Secret, which prints as
// <redacted>.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
)

// Message is one notification about one incident.
type Message struct {
	// Kind of update: the incident opened, changed (status, severity, a new
	// timeline step) or was resolved.
	Update     Update             `json:"update"`
	IncidentID string             `json:"incident_id"`
	Service    string             `json:"service"`
	Kind       incident.Kind      `json:"kind"`
	Severity   incident.Severity  `json:"severity"`
	Status     incident.Status    `json:"status"`
	Title      string             `json:"title"`
	Reason     string             `json:"reason"` // the verdict in numbers
	From       string             `json:"from_version,omitempty"`
	To         string             `json:"to_version,omitempty"`
	Event      *incident.Event    `json:"event,omitempty"` // the timeline step this update is about
	ReportURL  string             `json:"report_url,omitempty"`
	At         time.Time          `json:"at"`
	Incident   *incident.Incident `json:"-"` // full incident for channels that render more
	// Installation is the incident's installation id ("" for incidents from
	// before installation ids): incident IDs repeat across installations,
	// so every key that leaves ripcord is built from ScopedID.
	Installation string `json:"installation,omitempty"`
	// Seq orders updates of one incident; channels that keep state can drop
	// updates older than the last one they applied.
	Seq int64 `json:"seq"`
}

// Update says what happened to the incident.
type Update string

const (
	Opened   Update = "opened"
	Updated  Update = "updated"
	Resolved Update = "resolved"
)

// ScopedID is the incident ID qualified by its installation,
// "<installation>-INC-0001", or just the ID for an incident from before
// installation ids, so such an incident keeps the keys it was announced
// with. Channels use it wherever an ID identifies the incident to another
// system: dedup keys, labels, look-up markers, event and message ids.
func (m Message) ScopedID() string {
	if m.Installation == "" {
		return m.IncidentID
	}
	return m.Installation + "-" + m.IncidentID
}

// DedupKey is the stable key channels use to make repeats harmless:
// "ripcord-" + ScopedID().
func (m Message) DedupKey() string { return "ripcord-" + m.ScopedID() }

// UpdateID names this update of the incident, for channels that tag what
// they posted so a repeat finds it: the Seq, or a digest of the update's
// content when the sender left Seq at zero.
func (m Message) UpdateID() string {
	if m.Seq > 0 {
		return strconv.FormatInt(m.Seq, 10)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%s", m.Update, m.Status, m.Severity, m.Reason)
	if e := m.Event; e != nil {
		fmt.Fprintf(h, "|%s|%s|%s|%s", e.At.UTC().Format(time.RFC3339Nano), e.Type, e.Actor, e.Message)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Notifier delivers messages to one channel.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// State keeps a channel's handle for an incident (a Slack message ts, a
// Statuspage incident id) so later updates edit instead of posting anew.
// The daemon backs it with the store; MemState serves tests.
type State interface {
	Get(ctx context.Context, channel, incidentID string) (string, error) // "" when none
	Put(ctx context.Context, channel, incidentID, value string) error
}

// MemState is an in-memory State.
type MemState struct {
	mu sync.Mutex
	m  map[[2]string]string
}

// Get returns the stored handle or "".
func (s *MemState) Get(_ context.Context, channel, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[[2]string{channel, id}], nil
}

// Put stores a handle.
func (s *MemState) Put(_ context.Context, channel, id, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[[2]string]string{}
	}
	s.m[[2]string{channel, id}] = value
	return nil
}

// RetryableError is a failure a later attempt may fix.
type RetryableError struct {
	Err error
	// After is the server's Retry-After, zero when it gave none.
	After time.Duration
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable marks err as worth retrying, after at least `after`.
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, After: after}
}

// IsRetryable reports whether err may succeed on retry, and the minimum wait.
func IsRetryable(err error) (bool, time.Duration) {
	var r *RetryableError
	if errors.As(err, &r) {
		return true, r.After
	}
	return false, 0
}

// CheckResponse turns a non-2xx response into an error classified for
// retry. what names the call without secrets, e.g. "slack chat.postMessage".
// The body excerpt is included because services explain themselves there;
// callers must not pass responses that echo secrets back.
func CheckResponse(resp *http.Response, what string, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	excerpt := string(body)
	if len(excerpt) > 300 {
		excerpt = excerpt[:300] + "…"
	}
	err := fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, excerpt)
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return Retryable(err, RetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	default:
		return err
	}
}

// NetworkError marks a failed exchange (refused, timed out, reset) as
// retryable. It keeps the cause but drops *url.Error's URL, which may carry
// a token in its path, query or userinfo.
func NetworkError(what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return Retryable(fmt.Errorf("%s: %w", what, err), 0)
}

// RedactURL hides the password in a URL's userinfo, for configured
// endpoints quoted in messages and logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable>"
	}
	return u.Redacted()
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date).
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
