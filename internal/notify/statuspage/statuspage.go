package statuspage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
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
	// APIKey is the secret sent as "Authorization: OAuth <key>"; it prints
	// as <redacted>.
	APIKey notify.Secret `yaml:"api_key" json:"-"`
	// PageID is the page incidents are created on.
	PageID string `yaml:"page_id" json:"page_id"`
	// ComponentID is the component whose status follows the incident; empty
	// leaves components alone.
	ComponentID string `yaml:"component_id" json:"component_id,omitempty"`
	// Timeout bounds each HTTP request; DefaultTimeout when zero.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
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
	handles notify.Handles[handle]
	limiter Limiter
	mu      sync.Mutex // serialises Notify; see the package doc
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. state keeps the Statuspage
// incident id per incident; nil means an in-memory notify.MemState, which
// the upstream lookup backs up across restarts.
func New(cfg Config, state notify.State, opts ...Option) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("statuspage: %w", err)
	}
	base := strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultBaseURL), "/")
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
		handles: notify.Handles[handle]{
			State: state, Channel: "statuspage:" + cfg.PageID, Name: "statuspage",
			Bare: func(id string) handle { return handle{ID: id} },
		},
	}
	for _, o := range opts {
		o(n)
	}
	if n.limiter == nil {
		n.limiter = limiterFor(cfg.APIKey.Reveal())
	}
	return n, nil
}

// validate checks cfg and returns the base URL without a trailing slash.
// Messages never quote the key or a URL that might hold credentials.
// Validate checks c as New would and reports field.Errors with paths
// relative to the channel's block.
func (c Config) Validate() error {
	var errs field.Errors
	if c.APIKey == "" {
		errs.MissingSecret("api_key")
	}
	if c.PageID == "" {
		errs.Add("page_id", "is required: the page incidents are opened on, e.g. kctbh9vrtdwd")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	if c.BaseURL != "" {
		notify.CheckBaseURL(&errs, "base_url", c.BaseURL, "api_key")
	}
	return errs.Err()
}

// String describes the notifier by its config. fmt would print the
// unexported cfg field, secret included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("statuspage.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose key prints as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }

// handle is what State keeps per incident; older versions stored the bare
// incident id.
type handle struct {
	ID  string `json:"id"`
	Seq int64  `json:"seq,omitempty"`
}

// applied reports whether a message with seq was already delivered.
func (h handle) applied(seq int64) bool { return h.ID != "" && notify.Stale(seq, h.Seq) }

// Notify creates or updates the Statuspage incident for m.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	if m.IncidentID == "" {
		return errors.New("statuspage: message has no incident id")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h, err := n.handles.Load(ctx, m.IncidentID)
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
		if err := n.handles.Save(ctx, m.IncidentID, h); err != nil {
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
	return n.handles.Save(ctx, m.IncidentID, h)
}

func (n *Notifier) findOrCreate(ctx context.Context, m notify.Message) (id string, created bool, err error) {
	id, err = n.find(ctx, m.ScopedID())
	if err != nil || id != "" {
		return id, false, err
	}
	id, err = n.create(ctx, m)
	return id, err == nil, err
}
