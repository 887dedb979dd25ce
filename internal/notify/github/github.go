package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/notify"
)

// DefaultBaseURL is GitHub.com's REST API root.
const DefaultBaseURL = "https://api.github.com/"

// DefaultTimeout bounds one HTTP request.
const DefaultTimeout = 10 * time.Second

// Config configures one repository.
type Config struct {
	// BaseURL is the REST API root: DefaultBaseURL when empty, and
	// https://HOST/api/v3/ for GitHub Enterprise Server. It must not carry
	// credentials.
	BaseURL string `yaml:"base_url" json:"base_url,omitempty"`
	// Token authenticates as "Bearer <token>"; it prints as <redacted>.
	Token notify.Secret `yaml:"token" json:"-"`
	// Owner and Repo name the repository issues are filed in.
	Owner string `yaml:"owner" json:"owner"`
	Repo  string `yaml:"repo" json:"repo"`
	// Timeout bounds each HTTP request; DefaultTimeout when zero.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Notifier keeps one GitHub issue per incident.
type Notifier struct {
	cfg     Config
	issues  *gh.IssuesService
	handles notify.Handles[handle]
	mu      sync.Mutex // serialises Notify so one incident cannot race into two creates
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. state keeps the issue number per
// incident; nil means an in-memory notify.MemState, which the label lookup
// backs up across restarts.
func New(cfg Config, state notify.State) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	client, err := gh.NewClient(
		gh.WithHTTPClient(&http.Client{Timeout: cfg.Timeout}),
		gh.WithAuthToken(cfg.Token.Reveal()),
		gh.WithURLs(&base, &base),
		gh.WithUserAgent("ripcord"),
	)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	if state == nil {
		state = &notify.MemState{}
	}
	return &Notifier{
		cfg:    cfg,
		issues: client.Issues,
		handles: notify.Handles[handle]{
			State: state, Channel: "github:" + cfg.Owner + "/" + cfg.Repo, Name: "github",
			Bare: func(string) handle { return handle{} }, // unreadable: look the issue up again
		},
	}, nil
}

// Validate checks c as New would and reports field.Errors with paths
// relative to the channel's block.
func (c Config) Validate() error {
	var errs field.Errors
	if c.Token == "" {
		errs.MissingSecret("token")
	}
	if c.Owner == "" {
		errs.Add("owner", "is required: the user or organisation owning the repository, e.g. acme")
	}
	if c.Repo == "" {
		errs.Add("repo", "is required: the repository issues are filed in, e.g. incidents")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative, not %s", c.Timeout)
	}
	if c.BaseURL != "" {
		notify.CheckBaseURL(&errs, "base_url", c.BaseURL, "token")
	}
	return errs.Err()
}

// String describes the notifier by its config. fmt would print the
// unexported fields, secrets included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("github.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose token prints as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }

// handle is what State keeps per incident.
type handle struct {
	Number int   `json:"number"`
	Seq    int64 `json:"seq,omitempty"`
}

func (h handle) applied(seq int64) bool { return h.Number != 0 && notify.Stale(seq, h.Seq) }

// Notify files, comments on or closes the incident's issue.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	if m.IncidentID == "" {
		return errors.New("github: message has no incident id")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h, err := n.handles.Load(ctx, m.IncidentID)
	if err != nil || h.applied(m.Seq) {
		return err
	}
	if h.Number == 0 {
		if h.Number, err = n.findOrCreate(ctx, m); err != nil {
			return err
		}
		if err := n.handles.Save(ctx, m.IncidentID, h); err != nil {
			return err
		}
	}
	if m.Update != notify.Opened {
		if err := n.comment(ctx, h.Number, m); err != nil {
			return err
		}
	}
	if m.Update == notify.Resolved {
		if err := n.close(ctx, h.Number); err != nil {
			return err
		}
	}
	h.Seq = max(h.Seq, m.Seq)
	return n.handles.Save(ctx, m.IncidentID, h)
}

// label is the per-incident label; commas would split GitHub's label filter.
func label(incidentID string) string {
	return "ripcord-" + strings.NewReplacer(",", "_", " ", "_").Replace(incidentID)
}
