package pagerduty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/ripcord/ripcord/internal/notify"
)

// maxSummary is the Events API limit on payload.summary, in characters.
const maxSummary = 1024

// Notifier sends incidents to a PagerDuty service as Events API v2 events.
type Notifier struct {
	cfg       Config
	transport http.RoundTripper
	client    *pd.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks cfg and builds a Notifier.
func New(cfg Config, opts ...Option) (*Notifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, transport: http.DefaultTransport}
	for _, o := range opts {
		o(n)
	}
	// The REST API token is unused: the Events API authenticates by the
	// routing key in the body.
	n.client = pd.NewClient("", pd.WithV2EventsAPIEndpoint(cfg.URL))
	n.client.HTTPClient = &http.Client{Timeout: cfg.Timeout, Transport: recorder{n.transport}}
	return n, nil
}

// Notify triggers (Opened, Updated) or resolves (Resolved) the PagerDuty
// alert keyed by m.DedupKey().
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	ctx, ex := record(ctx)
	ev := event(n.cfg.RoutingKey.Reveal(), m)
	_, err := n.client.ManageEventWithContext(ctx, ev)
	return n.classify("pagerduty "+ev.Action, ex, err)
}

// event builds the Events API v2 body for m.
func event(routingKey string, m notify.Message) *pd.V2Event {
	if m.Update == notify.Resolved || m.Status == "resolved" {
		// PagerDuty ignores the payload of a resolve: the key is enough.
		return &pd.V2Event{RoutingKey: routingKey, Action: "resolve", DedupKey: m.DedupKey()}
	}
	ev := &pd.V2Event{
		RoutingKey: routingKey,
		Action:     "trigger",
		DedupKey:   m.DedupKey(),
		Client:     "ripcord",
		ClientURL:  m.ReportURL,
		Payload: &pd.V2Payload{
			Summary:  summary(m),
			Source:   m.Service,
			Severity: severity(string(m.Severity)),
			Class:    string(m.Kind),
			Details:  details(m),
		},
	}
	if !m.At.IsZero() {
		ev.Payload.Timestamp = m.At.UTC().Format(time.RFC3339)
	}
	if m.ReportURL != "" {
		ev.Links = []any{map[string]string{"href": m.ReportURL, "text": "ripcord incident report"}}
	}
	return ev
}

// severity maps ripcord's severity to PagerDuty's. Unknown values page as
// "error" rather than being dropped as an invalid event.
func severity(s string) string {
	switch s {
	case "critical":
		return "critical"
	case "minor":
		return "warning"
	}
	return "error"
}

func summary(m notify.Message) string {
	title := m.Title
	if title == "" {
		title = m.Reason
	}
	s := fmt.Sprintf("[%s] %s: %s", m.Severity, m.Service, title)
	if utf8.RuneCountInString(s) <= maxSummary {
		return s
	}
	return string([]rune(s)[:maxSummary-1]) + "…"
}

func details(m notify.Message) map[string]any {
	d := map[string]any{
		"incident_id": m.IncidentID,
		"kind":        m.Kind,
		"severity":    m.Severity,
		"status":      m.Status,
		"reason":      m.Reason,
		"update":      m.Update,
		"seq":         m.Seq,
	}
	if m.From != "" {
		d["from_version"] = m.From
	}
	if m.To != "" {
		d["to_version"] = m.To
	}
	if m.ReportURL != "" {
		d["report_url"] = m.ReportURL
	}
	if e := m.Event; e != nil {
		d["event"] = strings.TrimSpace(e.Type + ": " + e.Message)
	}
	return d
}

// go-pagerduty drops a failed response (ManageEventWithContext returns only
// an APIError, without the Retry-After header) and flattens network errors
// with %v. recorder sits under it as the transport and keeps both for the
// call that asked, so classify can use notify.CheckResponse and the
// original error.
type recorder struct{ next http.RoundTripper }

type exchange struct {
	resp *http.Response // status and header; the body is in body
	body []byte
	err  error
}

type exchangeKey struct{}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	ex, ok := req.Context().Value(exchangeKey{}).(*exchange)
	switch {
	case !ok:
	case err != nil:
		ex.err = err
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		ex.resp = &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone()}
		ex.body = body
	}
	return resp, err
}

func record(ctx context.Context) (context.Context, *exchange) {
	ex := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, ex), ex
}

// classify makes the error say whether a retry helps, without the routing
// key: 429 and 5xx retry (honouring Retry-After), 400 (invalid event) and
// the other 4xx do not, network errors do.
func (n *Notifier) classify(what string, ex *exchange, err error) error {
	switch {
	case err == nil:
		return nil
	case ex.resp != nil:
		return notify.CheckResponse(ex.resp, what, n.scrub(ex.body))
	case ex.err != nil:
		return notify.Retryable(fmt.Errorf("%s: %w", what, ex.err), 0)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return notify.Retryable(fmt.Errorf("%s: %w", what, err), 0)
	}
	// A 2xx whose body is not the Events API's JSON: the event may have
	// been taken, but url most likely points at something else.
	return fmt.Errorf("%s: unexpected response: %s", what, n.scrub([]byte(err.Error())))
}

func (n *Notifier) scrub(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte(n.cfg.RoutingKey.Reveal()), []byte("<redacted>"))
}

// String describes the notifier by its config. fmt would print the
// unexported cfg field, secrets included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("pagerduty.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose secrets print as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }
