package mlflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/retry"
)

// Errors a Target returns (wrapped; test with errors.Is).
var (
	// ErrNotFound is MLflow's RESOURCE_DOES_NOT_EXIST: the model, the
	// version or the alias does not exist.
	ErrNotFound = errors.New("mlflow: does not exist")
	// ErrAliasNotFound means the configured alias is not set on the model.
	ErrAliasNotFound = errors.New("mlflow: alias not set")
	// ErrNotReady means the version to revert to is not READY (its
	// registration is pending or failed): it is never a revert target.
	ErrNotReady = errors.New("mlflow: version not ready")
	// ErrMoved means the alias points at neither the version the revert
	// is from nor the one it is to: someone moved it since the decision,
	// and ripcord does not revert over a newer deploy.
	ErrMoved = errors.New("mlflow: alias moved since the decision")
	// ErrVerify means the alias read back after setting it names another
	// version.
	ErrVerify = errors.New("mlflow: alias did not verify")
	// ErrBadVersion means the version is not an MLflow version number.
	ErrBadVersion = errors.New("mlflow: not a version number")
)

// Tags a model version may carry for the schema-aware guard.
const (
	TagSchemaMin = "ripcord.dev/schema-min"
	TagSchemaMax = "ripcord.dev/schema-max"
)

// Version is one version of the registered model.
type Version struct {
	Version     string // the version number, "1", "2", …
	Status      string // READY, PENDING_REGISTRATION or FAILED_REGISTRATION
	Created     time.Time
	RunID       string
	Source      string
	Description string
	Tags        map[string]string
	Aliases     []string // aliases pointing at it
}

// Ready reports whether the version can be served (and reverted to).
func (v Version) Ready() bool { return v.Status == "" || v.Status == "READY" }

// SchemaRange returns the version's ripcord.dev/schema-min and
// ripcord.dev/schema-max tags, "" where a tag is absent.
func (v Version) SchemaRange() (min, max string) {
	return v.Tags[TagSchemaMin], v.Tags[TagSchemaMax]
}

// Target reverts an MLflow registered model by moving an alias. It is
// safe for concurrent use.
type Target struct {
	cfg    Config
	client *http.Client
	retry  retry.Policy
	log    *slog.Logger

	mu   sync.Mutex
	seen string // the alias's version as last read or set
	gen  uint64 // bumped by every set, so a Poll racing a Revert is ignored
}

var _ revert.Target = (*Target)(nil)

// Option changes a Target.
type Option func(*Target)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(t *Target) { t.log = l } }

// WithHTTPClient sets the HTTP client (its Timeout should be zero: each
// attempt is bounded by the operation's context).
func WithHTTPClient(c *http.Client) Option { return func(t *Target) { t.client = c } }

// WithRetry sets the retry policy for 429, 5xx and network errors.
func WithRetry(p retry.Policy) Option { return func(t *Target) { t.retry = p } }

// New checks cfg and that the token file reads. It makes no call: Check
// does, at start-up.
func New(cfg Config, opts ...Option) (*Target, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Target{cfg: cfg, client: &http.Client{}, log: slog.Default()}
	for _, o := range opts {
		o(t)
	}
	if _, err := t.token(); err != nil {
		return nil, fmt.Errorf("mlflow target: %w", err)
	}
	t.log = t.log.With("target", "mlflow", "model", cfg.Model, "alias", cfg.Alias)
	return t, nil
}

// String names the target without its token.
func (t *Target) String() string {
	return fmt.Sprintf("mlflow %s models:/%s@%s", t.cfg.URL, t.cfg.Model, t.cfg.Alias)
}

// op bounds one operation by the configured timeout.
func (t *Target) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.cfg.Timeout)
}

// Check confirms the model exists and the alias is set on it, with an
// error that says how to fix either (call it at start-up).
func (t *Target) Check(ctx context.Context) error {
	ctx, cancel := t.op(ctx)
	defer cancel()
	var out struct {
		Model struct {
			Name    string `json:"name"`
			Aliases []struct {
				Alias   string `json:"alias"`
				Version string `json:"version"`
			} `json:"aliases"`
		} `json:"registered_model"`
	}
	if err := t.call(ctx, http.MethodGet, "registered-models/get", url.Values{"name": {t.cfg.Model}}, nil, &out); err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("mlflow target: model: registered model %q does not exist on %s: fix model, or register it first: %w", t.cfg.Model, t.cfg.URL, err)
		}
		return err
	}
	var have []string
	for _, a := range out.Model.Aliases {
		if a.Alias == t.cfg.Alias {
			return nil
		}
		have = append(have, a.Alias+"→"+a.Version)
	}
	return t.noAlias(fmt.Sprintf("(its aliases: %s)", orNone(have)), nil)
}

func (t *Target) noAlias(detail string, cause error) error {
	err := fmt.Errorf("mlflow target: alias: model %q has no alias %q %s: set it in MLflow (MlflowClient().set_registered_model_alias(%q, %q, VERSION)) or fix alias: %w",
		t.cfg.Model, t.cfg.Alias, detail, t.cfg.Model, t.cfg.Alias, ErrAliasNotFound)
	if cause != nil {
		err = fmt.Errorf("%w (%w)", err, cause)
	}
	return err
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Current returns the version the alias points at.
func (t *Target) Current(ctx context.Context) (string, error) {
	ctx, cancel := t.op(ctx)
	defer cancel()
	return t.current(ctx)
}

func (t *Target) current(ctx context.Context) (string, error) {
	var out struct {
		MV wireVersion `json:"model_version"`
	}
	q := url.Values{"name": {t.cfg.Model}, "alias": {t.cfg.Alias}}
	err := t.call(ctx, http.MethodGet, "registered-models/alias", q, nil, &out)
	var apiErr *APIError
	// A missing alias is 404 RESOURCE_DOES_NOT_EXIST on some backends and
	// 400 INVALID_PARAMETER_VALUE "Registered model alias … not found." on
	// MLflow's own.
	if errors.As(err, &apiErr) && (apiErr.Code == CodeNotFound ||
		apiErr.Code == CodeInvalidParam && strings.Contains(strings.ToLower(apiErr.Message), "alias") && strings.Contains(apiErr.Message, "not found")) {
		return "", t.noAlias("(or the model does not exist)", err)
	}
	if err != nil {
		return "", err
	}
	if out.MV.Version == "" {
		return "", fmt.Errorf("mlflow GET registered-models/alias: the answer names no version")
	}
	return out.MV.Version, nil
}

// Status reports the alias's version.
func (t *Target) Status(ctx context.Context) (revert.Status, error) {
	v, err := t.Current(ctx)
	return revert.Status{Current: v}, err
}

// Versions lists the model's versions, oldest (lowest number) first,
// following next_page_token to the end.
func (t *Target) Versions(ctx context.Context) ([]Version, error) {
	ctx, cancel := t.op(ctx)
	defer cancel()
	var all []Version
	token := ""
	for page := 0; ; page++ {
		q := url.Values{"filter": {"name='" + t.cfg.Model + "'"}, "max_results": {strconv.Itoa(pageSize)}}
		if token != "" {
			q.Set("page_token", token)
		}
		var out struct {
			Versions []wireVersion `json:"model_versions"`
			Next     string        `json:"next_page_token"`
		}
		if err := t.call(ctx, http.MethodGet, "model-versions/search", q, nil, &out); err != nil {
			return nil, err
		}
		for _, w := range out.Versions {
			all = append(all, w.version())
		}
		if out.Next == "" || out.Next == token {
			break
		}
		if page >= maxPages {
			return nil, fmt.Errorf("mlflow GET model-versions/search: still paging after %d pages", maxPages)
		}
		token = out.Next
	}
	sortOldestFirst(all)
	return all, nil
}

const (
	pageSize = 1000
	maxPages = 1000
)
