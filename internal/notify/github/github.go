package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v89/github"

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
	// Token authenticates as "Bearer <token>". String and LogValue hide it,
	// and json:"-" keeps it out of JSON.
	Token string `yaml:"-" json:"-"`
	// Owner and Repo name the repository issues are filed in.
	Owner string `yaml:"owner" json:"owner"`
	Repo  string `yaml:"repo" json:"repo"`
	// Timeout bounds each HTTP request; DefaultTimeout when zero.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// String describes the config without its secret.
func (c Config) String() string {
	return fmt.Sprintf("{base_url:%s owner:%s repo:%s timeout:%s token:%s}",
		c.BaseURL, c.Owner, c.Repo, c.Timeout, mask(c.Token))
}

// GoString is String for %#v.
func (c Config) GoString() string { return "github.Config" + c.String() }

// LogValue keeps the secret out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("owner", c.Owner),
		slog.String("repo", c.Repo),
		slog.Duration("timeout", c.Timeout),
		slog.String("token", mask(c.Token)),
	)
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "<redacted>"
}

// Notifier keeps one GitHub issue per incident.
type Notifier struct {
	cfg    Config
	issues *gh.IssuesService
	state  notify.State
	mu     sync.Mutex // serialises Notify so one incident cannot race into two creates
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. state keeps the issue number per
// incident; nil means an in-memory notify.MemState, which the label lookup
// backs up across restarts.
func New(cfg Config, state notify.State) (*Notifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
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
		gh.WithAuthToken(cfg.Token),
		gh.WithURLs(&base, &base),
		gh.WithUserAgent("ripcord"),
	)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	if state == nil {
		state = &notify.MemState{}
	}
	return &Notifier{cfg: cfg, issues: client.Issues, state: state}, nil
}

func (c Config) validate() error {
	switch {
	case c.Token == "":
		return errors.New("github: token is required")
	case c.Owner == "" || c.Repo == "":
		return errors.New("github: owner and repo are required")
	case c.Timeout < 0:
		return fmt.Errorf("github: timeout must not be negative, got %s", c.Timeout)
	case c.BaseURL == "":
		return nil
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("github: base_url must be an absolute http or https URL")
	}
	if u.User != nil {
		return errors.New("github: base_url must not contain credentials; the token goes in token")
	}
	return nil
}

// String describes the notifier without its secret.
func (n *Notifier) String() string { return "github.Notifier" + n.cfg.String() }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue keeps the secret out of structured logs.
func (n *Notifier) LogValue() slog.Value { return n.cfg.LogValue() }

func (n *Notifier) channel() string { return "github:" + n.cfg.Owner + "/" + n.cfg.Repo }

// handle is what State keeps per incident.
type handle struct {
	Number int   `json:"number"`
	Seq    int64 `json:"seq,omitempty"`
}

func (h handle) applied(seq int64) bool { return h.Number != 0 && seq > 0 && seq <= h.Seq }

func (n *Notifier) load(ctx context.Context, id string) (handle, error) {
	v, err := n.state.Get(ctx, n.channel(), id)
	if err != nil {
		return handle{}, notify.Retryable(fmt.Errorf("github: reading state: %w", err), 0)
	}
	var h handle
	if v != "" && json.Unmarshal([]byte(v), &h) != nil {
		return handle{}, nil // unreadable: look the issue up again
	}
	return h, nil
}

func (n *Notifier) save(ctx context.Context, id string, h handle) error {
	v, _ := json.Marshal(h)
	if err := n.state.Put(ctx, n.channel(), id, string(v)); err != nil {
		return notify.Retryable(fmt.Errorf("github: saving state: %w", err), 0)
	}
	return nil
}

// Notify files, comments on or closes the incident's issue.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	if m.IncidentID == "" {
		return errors.New("github: message has no incident id")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h, err := n.load(ctx, m.IncidentID)
	if err != nil || h.applied(m.Seq) {
		return err
	}
	if h.Number == 0 {
		if h.Number, err = n.findOrCreate(ctx, m); err != nil {
			return err
		}
		if err := n.save(ctx, m.IncidentID, h); err != nil {
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
	return n.save(ctx, m.IncidentID, h)
}

// label is the per-incident label; commas would split GitHub's label filter.
func label(incidentID string) string {
	return "ripcord-" + strings.NewReplacer(",", "_", " ", "_").Replace(incidentID)
}
