package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/ripcord/ripcord/internal/notify"
)

// Notifier posts incidents to a Teams channel as Adaptive Cards.
type Notifier struct {
	cfg    Config
	client *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks cfg and builds a Notifier.
func New(cfg Config, opts ...Option) (*Notifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}
	for _, o := range opts {
		o(n)
	}
	return n, nil
}

// Notify posts one card for m.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	const what = "teams webhook"
	body, err := json.Marshal(NewPayload(m))
	if err != nil {
		return fmt.Errorf("teams: encode card: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.WebhookURL.Reveal(), bytes.NewReader(body))
	if err != nil {
		return errors.New("teams: cannot build request for the configured webhook_url")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.NetworkError(what, err) // *url.Error quotes the URL, and its sig= is the secret
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return notify.CheckResponse(resp, what, n.scrub(rb))
}

// scrub removes the webhook URL, its path and its query from response text
// quoted in an error.
func (n *Notifier) scrub(b []byte) []byte {
	parts := []string{n.cfg.WebhookURL.Reveal()}
	if u, err := url.Parse(n.cfg.WebhookURL.Reveal()); err == nil {
		parts = append(parts, u.RawQuery, u.Query().Get("sig"), u.EscapedPath())
	}
	for _, p := range parts {
		if len(p) > 1 {
			b = bytes.ReplaceAll(b, []byte(p), []byte("<redacted>"))
		}
	}
	return b
}

// String describes the notifier by its config. fmt would print the
// unexported cfg field, secrets included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("teams.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose secrets print as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }
