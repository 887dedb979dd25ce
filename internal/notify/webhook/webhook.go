package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// ContentType is the CloudEvents structured-mode JSON media type.
const ContentType = "application/cloudevents+json"

// Notifier delivers incidents as signed CloudEvents.
type Notifier struct {
	cfg    Config
	key    []byte
	client *http.Client
	now    func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks cfg (including that the secret decodes) and builds a Notifier.
func New(cfg Config, opts ...Option) (*Notifier, error) {
	cfg, key, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, key: key, client: &http.Client{Timeout: cfg.Timeout}, now: time.Now}
	for _, o := range opts {
		o(n)
	}
	return n, nil
}

// Event is a CloudEvents 1.0 event in structured-mode JSON.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// EventID is the stable ID of m's event: the same for every delivery of the
// same update, different for different updates, so receivers can drop
// repeats by it. It is also the webhook-id.
func EventID(m notify.Message) string {
	if m.Seq > 0 {
		return fmt.Sprintf("%s-%d", m.DedupKey(), m.Seq)
	}
	// Without a Seq, fall back on what the outbox replays unchanged.
	return fmt.Sprintf("%s-%s-%d", m.DedupKey(), m.Update, m.At.UnixNano())
}

// NewEvent wraps m as a CloudEvent.
func NewEvent(m notify.Message) (Event, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return Event{}, fmt.Errorf("webhook: encode message: %w", err)
	}
	ev := Event{
		SpecVersion:     "1.0",
		ID:              EventID(m),
		Source:          "ripcord/" + url.PathEscape(m.Service),
		Type:            "dev.ripcord.incident." + string(m.Update),
		Subject:         m.IncidentID,
		DataContentType: "application/json",
		Data:            data,
	}
	if !m.At.IsZero() {
		ev.Time = m.At.UTC().Format(time.RFC3339Nano)
	}
	return ev, nil
}

// Sign returns the Standard Webhooks signature header value for one
// delivery: "v1," + base64(HMAC-SHA256(key, id "." timestamp "." body)).
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Notify POSTs m as a CloudEvent. Each attempt is signed afresh with the
// current time, under the same webhook-id.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	ev, err := NewEvent(m)
	if err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook: encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("webhook: cannot build request for the configured url")
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "ripcord")
	SignRequest(req.Header, n.key, ev.ID, n.now(), body)
	return n.send(req)
}

// SignRequest sets the Standard Webhooks headers of one delivery attempt:
// webhook-id (the idempotency key, the same on every attempt),
// webhook-timestamp (now, in unix seconds, so a retry is not rejected as
// stale) and webhook-signature over body. The revert webhook target
// shares it.
func SignRequest(h http.Header, key []byte, id string, now time.Time, body []byte) {
	ts := now.Unix()
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", Sign(key, id, ts, body))
}

func (n *Notifier) send(req *http.Request) error {
	what := "webhook POST " + hostOnly(n.cfg.URL)
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.NetworkError(what, err) // the URL may carry a token
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return notify.CheckResponse(resp, what, n.scrub(body))
}

// scrub removes the secret and the URL — with its credentials in every
// form, base64 included — from response text quoted in an error.
func (n *Notifier) scrub(b []byte) []byte {
	secret := n.cfg.Secret.Reveal()
	for _, s := range []string{secret, strings.TrimPrefix(secret, secretPrefix)} {
		if s != "" {
			b = bytes.ReplaceAll(b, []byte(s), []byte("<redacted>"))
		}
	}
	return notify.ScrubURL(b, n.cfg.URL)
}
