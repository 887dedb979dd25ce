package jira

import (
	"context"
	"encoding/base64"
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

// DefaultTimeout bounds one HTTP request.
const DefaultTimeout = 10 * time.Second

// DefaultIssueType is used when Config.IssueType is empty.
const DefaultIssueType = "Bug"

// Config configures one Jira Cloud project.
type Config struct {
	// BaseURL is the site, e.g. https://example.atlassian.net; the REST
	// paths are appended to it. It must not carry credentials.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// Email is the Atlassian account the API token belongs to.
	Email string `yaml:"email" json:"email"`
	// APIToken is the secret half of basic auth; it prints as <redacted>.
	APIToken notify.Secret `yaml:"api_token" json:"-"`
	// Project is the project key issues are created in, e.g. OPS.
	Project string `yaml:"project" json:"project"`
	// IssueType is the issue type name; DefaultIssueType when empty.
	IssueType string `yaml:"issue_type" json:"issue_type,omitempty"`
	// ResolveTransition, when set, is the workflow transition (or target
	// status) name applied on Resolved, e.g. "Done". Empty: comment only.
	ResolveTransition string `yaml:"resolve_transition" json:"resolve_transition,omitempty"`
	// Timeout bounds each HTTP request; DefaultTimeout when zero.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Notifier keeps one Jira issue per incident.
type Notifier struct {
	cfg     Config
	base    string
	auth    string // "Basic ..." header value
	client  *http.Client
	handles notify.Handles[handle]
	mu      sync.Mutex // serialises Notify so one incident cannot race into two creates
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. state keeps the issue key per
// incident; nil means an in-memory notify.MemState, which the label search
// backs up across restarts.
func New(cfg Config, state notify.State) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jira: %w", err)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.IssueType == "" {
		cfg.IssueType = DefaultIssueType
	}
	if state == nil {
		state = &notify.MemState{}
	}
	return &Notifier{
		cfg:    cfg,
		base:   base,
		auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Email+":"+cfg.APIToken.Reveal())),
		client: &http.Client{Timeout: cfg.Timeout},
		handles: notify.Handles[handle]{
			State: state, Channel: "jira:" + cfg.Project, Name: "jira",
			Bare: func(key string) handle { return handle{Key: key} },
		},
	}, nil
}

// Validate checks c as New would and reports field.Errors with paths
// relative to the channel's block.
func (c Config) Validate() error {
	var errs field.Errors
	if c.BaseURL == "" {
		errs.Add("base_url", "is required, e.g. https://example.atlassian.net")
	} else {
		notify.CheckBaseURL(&errs, "base_url", c.BaseURL, "email and api_token")
	}
	if c.Email == "" {
		errs.Add("email", "is required (the account the API token belongs to), e.g. sre-bot@example.com")
	}
	if c.APIToken == "" {
		errs.MissingSecret("api_token")
	}
	if c.Project == "" {
		errs.Add("project", "is required (a project key), e.g. OPS")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	return errs.Err()
}

// String describes the notifier by its config. fmt would print the
// unexported fields, secrets included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("jira.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose token prints as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }

// handle is what State keeps per incident; older versions stored the bare
// issue key.
type handle struct {
	Key string `json:"key"`
	Seq int64  `json:"seq,omitempty"`
}

func (h handle) applied(seq int64) bool { return h.Key != "" && notify.Stale(seq, h.Seq) }

// Notify files or updates the incident's issue.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	if m.IncidentID == "" {
		return errors.New("jira: message has no incident id")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h, err := n.handles.Load(ctx, m.IncidentID)
	if err != nil || h.applied(m.Seq) {
		return err
	}
	if h.Key == "" {
		if h.Key, err = n.findOrCreate(ctx, m); err != nil {
			return err
		}
		if err := n.handles.Save(ctx, m.IncidentID, h); err != nil {
			return err
		}
	}
	if m.Update != notify.Opened {
		if err := n.comment(ctx, h.Key, m); err != nil {
			return err
		}
	}
	if m.Update == notify.Resolved && n.cfg.ResolveTransition != "" {
		if err := n.transition(ctx, h.Key); err != nil {
			return err
		}
	}
	h.Seq = max(h.Seq, m.Seq)
	return n.handles.Save(ctx, m.IncidentID, h)
}

func (n *Notifier) findOrCreate(ctx context.Context, m notify.Message) (string, error) {
	key, err := n.search(ctx, m.ScopedID())
	if err != nil || key != "" {
		return key, err
	}
	return n.create(ctx, m)
}

// label is the per-incident label; Jira labels cannot hold spaces.
func label(incidentID string) string {
	return "ripcord-" + strings.Join(strings.Fields(incidentID), "_")
}
