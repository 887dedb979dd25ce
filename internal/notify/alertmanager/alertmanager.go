package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// AlertName is the alertname label of every ripcord alert.
const AlertName = "RipcordIncident"

// stateChannel is the notify.State channel for the last fired severity.
const stateChannel = "alertmanager"

// Notifier raises and resolves one Alertmanager alert per incident.
type Notifier struct {
	cfg    Config
	client *http.Client
	state  notify.State // optional
	now    func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks cfg and builds a Notifier.
func New(cfg Config, opts ...Option) (*Notifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}, now: time.Now}
	for _, o := range opts {
		o(n)
	}
	return n, nil
}

// Alert is a postable alert of Alertmanager's API v2.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Notify sends m's alert: firing (endsAt AlertTTL ahead) while the incident
// is open, resolved (endsAt = the resolve time) once it is.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	prev, err := n.lastSeverity(ctx, m.IncidentID)
	if err != nil {
		return err
	}
	alerts := n.alerts(m, prev)
	if err := n.post(ctx, alerts); err != nil {
		return err
	}
	if n.state != nil && string(m.Severity) != prev {
		if err := n.state.Put(ctx, stateChannel, m.IncidentID, string(m.Severity)); err != nil {
			return notify.Retryable(fmt.Errorf("alertmanager: store severity: %w", err), 0)
		}
	}
	return nil
}

// alerts builds the body: m's alert, plus a resolve of the alert fired
// under the previous severity label when that changed.
func (n *Notifier) alerts(m notify.Message, prevSeverity string) []Alert {
	now := n.now().UTC()
	a := Alert{
		Labels:       labels(m, string(m.Severity)),
		Annotations:  map[string]string{"summary": m.Title, "description": m.Reason},
		StartsAt:     startsAt(m, now),
		GeneratorURL: m.ReportURL,
	}
	if resolved(m) {
		a.EndsAt = endsAt(m, now)
	} else {
		a.EndsAt = now.Add(n.cfg.AlertTTL)
	}
	out := []Alert{a}
	if prevSeverity != "" && prevSeverity != string(m.Severity) {
		old := a
		old.Labels = labels(m, prevSeverity)
		old.EndsAt = endsAt(m, now)
		out = append(out, old)
	}
	return out
}

// labels identify the alert: Alertmanager treats a different label set as a
// different alert, so these must be the same on trigger and resolve.
// An incident from before installation ids has no installation label, so
// it keeps the identity it was announced with.
func labels(m notify.Message, severity string) map[string]string {
	l := map[string]string{
		"alertname":   AlertName,
		"service":     m.Service,
		"severity":    severity,
		"incident_id": m.IncidentID,
	}
	if m.Installation != "" {
		l["installation"] = m.Installation
	}
	return l
}

func resolved(m notify.Message) bool {
	return m.Update == notify.Resolved || m.Status == "resolved"
}

// startsAt is when the incident began; Alertmanager keeps the earliest
// startsAt it has seen for an alert anyway.
func startsAt(m notify.Message, now time.Time) time.Time {
	if m.Incident != nil && !m.Incident.CreatedAt.IsZero() {
		return m.Incident.CreatedAt.UTC()
	}
	if !m.At.IsZero() {
		return m.At.UTC()
	}
	return now
}

// endsAt is the resolve time, never in the future: Alertmanager treats an
// alert as resolved only once endsAt has passed.
func endsAt(m notify.Message, now time.Time) time.Time {
	if m.At.IsZero() || m.At.After(now) {
		return now
	}
	return m.At.UTC()
}

func (n *Notifier) lastSeverity(ctx context.Context, incidentID string) (string, error) {
	if n.state == nil {
		return "", nil
	}
	v, err := n.state.Get(ctx, stateChannel, incidentID)
	if err != nil {
		return "", notify.Retryable(fmt.Errorf("alertmanager: read last severity: %w", err), 0)
	}
	return v, nil
}

func (n *Notifier) post(ctx context.Context, alerts []Alert) error {
	const what = "alertmanager POST /api/v2/alerts"
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("alertmanager: encode alerts: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return errors.New("alertmanager: cannot build request for the configured url")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ripcord")
	if n.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+n.cfg.BearerToken.Reveal())
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.NetworkError(what, err) // the URL may carry a password
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if n.cfg.BearerToken != "" {
		rb = bytes.ReplaceAll(rb, []byte(n.cfg.BearerToken.Reveal()), []byte("<redacted>"))
	}
	return notify.CheckResponse(resp, what, rb)
}

// String describes the notifier by its config. fmt would print the
// unexported cfg field, secrets included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("alertmanager.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose secrets print as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }
