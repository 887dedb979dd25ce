package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	notifywebhook "github.com/ripcord/ripcord/internal/notify/webhook"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/retry"
)

// ErrRefused means the endpoint answered with a permanent failure (a 4xx
// other than 408 and 429, or a redirect): retrying will not help, so the
// controller escalates.
var ErrRefused = errors.New("webhook: revert refused")

// Body is the JSON each revert POSTs.
type Body struct {
	Service    string `json:"service"`
	From       string `json:"from"`
	To         string `json:"to"`
	Reason     string `json:"reason"`
	DecisionID int64  `json:"decision_id"`
}

// Target reverts by POSTing a signed request. It is safe for concurrent
// use.
type Target struct {
	cfg    Config
	client *http.Client
	retry  retry.Policy
	log    *slog.Logger
	now    func() time.Time

	mu   sync.Mutex
	last string
}

var _ revert.Target = (*Target)(nil)

// Option changes a Target.
type Option func(*Target)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(t *Target) { t.log = l } }

// WithRetry sets the retry policy for 408, 429, 5xx and network errors.
func WithRetry(p retry.Policy) Option { return func(t *Target) { t.retry = p } }

// WithClock sets the clock for webhook-timestamp (tests).
func WithClock(now func() time.Time) Option { return func(t *Target) { t.now = now } }

// New checks cfg and that the secret file holds a usable secret.
func New(cfg Config, opts ...Option) (*Target, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, _, err := readSecret(string(cfg.SecretFile)); err != nil {
		return nil, err
	}
	t := &Target{cfg: cfg, log: slog.Default(), now: time.Now, client: &http.Client{
		// A redirect would re-send (or drop) the signed body elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	for _, o := range opts {
		o(t)
	}
	t.log = t.log.With("target", "webhook", "url", hostOnly(cfg.URL))
	return t, nil
}

// String names the target without the URL's path or the secret.
func (t *Target) String() string { return "webhook " + hostOnly(t.cfg.URL) }

// Status reports the version the last successful revert asked for, or ""
// when this process has sent none: the endpoint is not asked what is live.
func (t *Target) Status(context.Context) (revert.Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return revert.Status{Current: t.last}, nil
}

// ID is the webhook-id (idempotency key) of the revert req asks for.
func ID(req revert.Request) string {
	if req.DecisionID > 0 {
		return fmt.Sprintf("ripcord-revert-%d", req.DecisionID)
	}
	h := sha256.Sum256([]byte(strings.Join([]string{req.Service, req.From, req.To, req.Reason}, "\x00")))
	return "ripcord-revert-" + hex.EncodeToString(h[:12])
}

// Revert POSTs the revert and waits for a 2xx. DryRun sends nothing.
func (t *Target) Revert(ctx context.Context, req revert.Request) (revert.Result, error) {
	res := revert.Result{From: req.From, To: req.To, DryRun: req.DryRun}
	if req.To == "" {
		return res, revert.ErrNothingToRevert
	}
	key, secret, err := readSecret(string(t.cfg.SecretFile))
	if err != nil {
		return res, err
	}
	body, err := json.Marshal(Body{Service: req.Service, From: req.From, To: req.To, Reason: req.Reason, DecisionID: req.DecisionID})
	if err != nil {
		return res, fmt.Errorf("webhook: encode body: %w", err)
	}
	if req.DryRun {
		return res, nil
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	id := ID(req)
	start := time.Now()
	var answer []byte
	err = t.retry.Do(ctx, func(ctx context.Context) error {
		var err error
		answer, err = t.attempt(ctx, id, key, body)
		return err
	})
	res.Duration = time.Since(start)
	res.Output = t.scrub(answer, secret)
	if err != nil {
		t.log.Warn("revert webhook failed", "id", id, "to", req.To, "error", err)
		return res, err
	}
	t.mu.Lock()
	t.last = req.To
	t.mu.Unlock()
	t.log.Info("revert webhook accepted", "id", id, "from", req.From, "to", req.To, "took", res.Duration)
	return res, nil
}

// attempt sends one signed POST; the signature is made afresh with the
// current time under the same id.
func (t *Target) attempt(ctx context.Context, id string, key, body []byte) ([]byte, error) {
	what := "webhook POST " + hostOnly(t.cfg.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot build the request", what)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ripcord")
	notifywebhook.SignRequest(req.Header, key, id, t.now(), body)
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may carry a token
		}
		return nil, retry.Again(fmt.Errorf("%s: %w", what, err), 0)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	err = fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	if retry.Status(resp.StatusCode) {
		return answer, retry.Again(err, retry.After(resp.Header, time.Now()))
	}
	return answer, fmt.Errorf("%w: %w", ErrRefused, err)
}

// scrub keeps the endpoint's answer for the timeline without the secret
// or the URL, in case it echoes the request.
func (t *Target) scrub(answer []byte, secret string) string {
	s := strings.TrimSpace(string(answer))
	for _, v := range []string{secret, strings.TrimPrefix(secret, "whsec_"), t.cfg.URL} {
		if v != "" {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	if u, err := url.Parse(t.cfg.URL); err == nil && len(u.RequestURI()) > 1 {
		s = strings.ReplaceAll(s, u.RequestURI(), "<redacted>")
	}
	if r := []rune(s); len(r) > 1000 {
		s = string(r[:1000]) + "…"
	}
	return s
}
