package statuspage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultBaseURL is Statuspage's REST API v1 root.
const DefaultBaseURL = "https://api.statuspage.io/v1"

// DefaultTimeout bounds one HTTP request.
const DefaultTimeout = 10 * time.Second

// Config configures one Statuspage page.
type Config struct {
	// BaseURL is the API root, DefaultBaseURL when empty. Tests and proxies
	// point it elsewhere; it must not carry credentials.
	BaseURL string `yaml:"base_url" json:"base_url,omitempty"`
	// APIKey is the secret sent as "Authorization: OAuth <key>". String and
	// LogValue hide it, and json:"-" keeps it out of JSON.
	APIKey string `yaml:"-" json:"-"`
	// PageID is the page incidents are created on.
	PageID string `yaml:"page_id" json:"page_id"`
	// ComponentID is the component whose status follows the incident; empty
	// leaves components alone.
	ComponentID string `yaml:"component_id" json:"component_id,omitempty"`
	// Timeout bounds each HTTP request; DefaultTimeout when zero.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// String describes the config without its secret.
func (c Config) String() string {
	return fmt.Sprintf("{base_url:%s page_id:%s component_id:%s timeout:%s api_key:%s}",
		c.BaseURL, c.PageID, c.ComponentID, c.Timeout, mask(c.APIKey))
}

// GoString is String for %#v.
func (c Config) GoString() string { return "statuspage.Config" + c.String() }

// LogValue keeps the secret out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("page_id", c.PageID),
		slog.String("component_id", c.ComponentID),
		slog.Duration("timeout", c.Timeout),
		slog.String("api_key", mask(c.APIKey)),
	)
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "<redacted>"
}

// Limiter spaces requests; *rate.Limiter from golang.org/x/time satisfies it.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Option adjusts a Notifier.
type Option func(*Notifier)

// WithLimiter replaces the per-API-key limiter (tests use a faster one).
func WithLimiter(l Limiter) Option { return func(n *Notifier) { n.limiter = l } }

// Notifier publishes incidents on one Statuspage page.
type Notifier struct {
	cfg     Config
	base    string
	client  *http.Client
	state   notify.State
	limiter Limiter
	mu      sync.Mutex // serialises Notify; see the package doc
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. state keeps the Statuspage
// incident id per incident; nil means an in-memory notify.MemState, which
// the upstream lookup backs up across restarts.
func New(cfg Config, state notify.State, opts ...Option) (*Notifier, error) {
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if state == nil {
		state = &notify.MemState{}
	}
	n := &Notifier{
		cfg:    cfg,
		base:   base,
		client: &http.Client{Timeout: cfg.Timeout},
		state:  state,
	}
	for _, o := range opts {
		o(n)
	}
	if n.limiter == nil {
		n.limiter = limiterFor(cfg.APIKey)
	}
	return n, nil
}

// validate checks cfg and returns the base URL without a trailing slash.
// Messages never quote the key or a URL that might hold credentials.
func (c Config) validate() (string, error) {
	switch {
	case c.APIKey == "":
		return "", errors.New("statuspage: api_key is required")
	case c.PageID == "":
		return "", errors.New("statuspage: page_id is required")
	case c.Timeout < 0:
		return "", fmt.Errorf("statuspage: timeout must not be negative, got %s", c.Timeout)
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("statuspage: base_url must be an absolute http or https URL")
	}
	if u.User != nil {
		return "", errors.New("statuspage: base_url must not contain credentials; the API key goes in api_key")
	}
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base, nil
}

// String describes the notifier without its secret.
func (n *Notifier) String() string { return "statuspage.Notifier" + n.cfg.String() }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue keeps the secret out of structured logs.
func (n *Notifier) LogValue() slog.Value { return n.cfg.LogValue() }

func (n *Notifier) channel() string { return "statuspage:" + n.cfg.PageID }

// handle is what State keeps per incident.
type handle struct {
	ID  string `json:"id"`
	Seq int64  `json:"seq,omitempty"`
}

// applied reports whether a message with seq was already delivered.
func (h handle) applied(seq int64) bool { return h.ID != "" && seq > 0 && seq <= h.Seq }

func (n *Notifier) load(ctx context.Context, incidentID string) (handle, error) {
	v, err := n.state.Get(ctx, n.channel(), incidentID)
	if err != nil {
		return handle{}, notify.Retryable(fmt.Errorf("statuspage: reading state: %w", err), 0)
	}
	var h handle
	if v == "" {
		return h, nil
	}
	if json.Unmarshal([]byte(v), &h) != nil {
		h = handle{ID: v} // a bare id
	}
	return h, nil
}

func (n *Notifier) save(ctx context.Context, incidentID string, h handle) error {
	v, _ := json.Marshal(h)
	if err := n.state.Put(ctx, n.channel(), incidentID, string(v)); err != nil {
		return notify.Retryable(fmt.Errorf("statuspage: saving state: %w", err), 0)
	}
	return nil
}

// Notify creates or updates the Statuspage incident for m.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	if m.IncidentID == "" {
		return errors.New("statuspage: message has no incident id")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h, err := n.load(ctx, m.IncidentID)
	if err != nil || h.applied(m.Seq) {
		return err
	}
	created := false
	if h.ID == "" {
		if h.ID, created, err = n.findOrCreate(ctx, m); err != nil {
			return err
		}
		// Keep the id at once so a failed update below is retried
		// against this incident, not looked up again.
		if err := n.save(ctx, m.IncidentID, h); err != nil {
			return err
		}
	}
	// A create already carries the message's status and components, and an
	// Opened message for an incident that exists has nothing to add.
	if !created && m.Update != notify.Opened {
		if err := n.update(ctx, h.ID, m); err != nil {
			return err
		}
	}
	h.Seq = max(h.Seq, m.Seq)
	return n.save(ctx, m.IncidentID, h)
}

func (n *Notifier) findOrCreate(ctx context.Context, m notify.Message) (id string, created bool, err error) {
	id, err = n.find(ctx, m.IncidentID)
	if err != nil || id != "" {
		return id, false, err
	}
	id, err = n.create(ctx, m)
	return id, err == nil, err
}
