package config

import (
	"path/filepath"
	"time"
)

// Config is the whole ripcord configuration file.
type Config struct {
	API      API       `yaml:"api"`
	Store    Store     `yaml:"store"`
	Log      Log       `yaml:"log"`
	Services []Service `yaml:"services"`
	Notify   Notify    `yaml:"notify"`
	Reports  Reports   `yaml:"reports"`
	// Signals are the daemon's signal receivers, shared by every service
	// (signals.otlp: where OTLP arrives); services map their data under
	// services[].signals.
	Signals Receivers `yaml:"signals"`
	// HA makes this one of several replicas on one PostgreSQL store
	// (ha.go); nil: a single replica.
	HA *HA `yaml:"ha"`

	// BaseDir is the directory relative paths in the config (token_file,
	// sqlite://PATH) are resolved against: the config file's directory when
	// loaded with Load. It is not read from YAML; it is kept here so every
	// consumer resolves paths the same way, e.g. Store.SQLitePath(c.BaseDir).
	BaseDir string `yaml:"-"`
	// Warnings are keys that still load but have changed meaning, with
	// path and line; check-config prints them and serve logs them.
	Warnings Errors `yaml:"-"`
}

// API is the control API's listener and its bearer tokens.
type API struct {
	// Listen is host:port for the JSON API, /metrics and /healthz.
	// Default 127.0.0.1:7070. With no tokens it must be a loopback address.
	Listen string  `yaml:"listen"`
	Tokens []Token `yaml:"tokens"`
}

// Token is one bearer token. Exactly one of TokenFile and Token must be set;
// Token accepts only an environment reference such as ${RIPCORD_CI_TOKEN} so
// secrets never sit in the file itself.
type Token struct {
	Name      string `yaml:"name"`
	Role      string `yaml:"role"` // viewer | operator | admin
	TokenFile string `yaml:"token_file"`
	Token     string `yaml:"token"`
	// Value is the resolved secret, filled by Load. Never logged: Token's
	// String and LogValue hide it, and json:"-" keeps it out of JSON.
	Value string `yaml:"-" json:"-"`
}

// Roles in increasing power.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Reports configures the post-incident reports written after every
// verified rollback and every escalation.
type Reports struct {
	// Dir receives INC-0001.md and INC-0001.html; relative to the config
	// file. Default "reports".
	Dir string `yaml:"dir"`
}

// ReportsDir is the absolute reports directory.
func (c *Config) ReportsDir() string {
	d := c.Reports.Dir
	if d == "" {
		d = "reports"
	}
	if !filepath.IsAbs(d) && c.BaseDir != "" {
		d = filepath.Join(c.BaseDir, d)
	}
	return d
}

// Store selects persistence. Default sqlite://ripcord.db. A PostgreSQL
// store is url: postgres://USER:${ENV}@HOST/DB, or url_file: a file holding
// the URL (see PostgresURL).
type Store struct {
	URL     string `yaml:"url"`
	URLFile string `yaml:"url_file"`
}

// Log configures the daemon's structured log.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // text | json; default text
}

// Service is one guarded service: a proxy listener, its versions and a policy.
type Service struct {
	Name     string    `yaml:"name"`
	Proxy    Proxy     `yaml:"proxy"`
	Versions []Version `yaml:"versions"` // oldest first
	Active   string    `yaml:"active"`   // default: the last version
	Policy   Policy    `yaml:"policy"`
	Signals  Signals   `yaml:"signals"`
	// Target is where reverts happen. Default: the built-in proxy switch.
	Target Target `yaml:"target"`
	// SchemaSource says how to read the live database schema version for
	// the schema-aware guard (schemaguard.go).
	SchemaSource SchemaSource `yaml:"schema_source"`
	// Strategy is how a deploy reaches users (strategy.go). Default:
	// blue-green.
	Strategy Strategy `yaml:"strategy"`
	// Drills configures `ripcord drill` for the service (drills.go).
	Drills Drills `yaml:"drills"`
}

// Target selects how a service is reverted when it is not (only) behind
// ripcord's own proxy: at most one provider block, such as kubernetes (a
// Deployment's rollout-undo or a Service selector). Versions are then
// discovered by the target, and signals come from the signal sources
// (Prometheus, probes, OTLP, Datadog, CloudWatch, JSON endpoints) or
// pushes. Its kinds are app's revert targets.
type Target struct {
	Providers []Block `yaml:",remain"`
}

// Provider is the target's block, or nil for the built-in proxy switch.
func (t Target) Provider() *Block {
	if len(t.Providers) == 0 {
		return nil
	}
	return &t.Providers[0]
}

// External reports whether the service's versions live outside ripcord
// (deployed by someone else, discovered, reverted through an API).
func (s Service) External() bool { return len(s.Target.Providers) > 0 }

// Signals are the sources beyond the proxy's own statistics. A metric that
// a provider (a Prometheus query, a probe file) provides is read from there;
// the rest come from the proxy or from pushes.
type Signals struct {
	// Headers maps a metric to a response header the service sets per
	// request (quality_score: X-Quality-Score); the switch averages it per
	// version like latency.
	Headers map[string]string `yaml:"headers"`
	// Providers are the signal sources' blocks (prometheus, otlp, ...), in file
	// order; their kinds are app's signal sources.
	Providers []Block `yaml:",remain"`
}

// Receivers are the daemon-wide signal receivers' blocks, at most one of
// each kind; their kinds are app's receivers.
type Receivers struct {
	Providers []Block `yaml:",remain"`
}

// Receiver is the block of kind, or nil when the file has none.
func (r Receivers) Receiver(kind string) *Block {
	for i := range r.Providers {
		if r.Providers[i].Kind == kind {
			return &r.Providers[i]
		}
	}
	return nil
}

// Proxy is the built-in traffic switch for a service.
type Proxy struct {
	Listen string `yaml:"listen"` // host:port users send traffic to
	// RetryOnPrevious retries a request that the watched version failed
	// (connection error or 5xx, nothing yet sent to the client) once on the
	// previous healthy version. Off by default.
	RetryOnPrevious RetryOnPrevious `yaml:"retry_on_previous"`
	// TrustedProxies are CIDRs of the peers (load balancers, CDNs) whose
	// Forwarded, X-Real-IP, X-Forwarded-Host and X-Forwarded-Proto headers
	// are passed on; from anyone else the switch drops them. Default none.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// BodyTimeout is the progress deadline of request bodies: each read must
	// receive something within it, or the request is dropped. Default 30s.
	BodyTimeout time.Duration `yaml:"body_timeout"`
	// MaxConns caps the client connections the listener holds; beyond it a
	// connection is answered 503. Default 10000.
	MaxConns int `yaml:"max_conns"`
}

// RetryOnPrevious bounds the retry of failed requests on the previous version.
type RetryOnPrevious struct {
	Enabled bool `yaml:"enabled"`
	// MaxBodyBytes is the largest request body buffered so it can be resent.
	// Default 64 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// NonIdempotent allows retrying POST/PATCH (LLM completion endpoints are
	// usually safe to repeat). Default false.
	NonIdempotent bool `yaml:"non_idempotent"`
}

// Version is one deployable version behind the switch.
type Version struct {
	Name string `yaml:"name"`
	// URL is the version's base URL. With URLFile it is read from that file
	// (relative to the config file), so credentials in it (userinfo, a
	// token in the query) stay out of the config.
	URL     string `yaml:"url"`
	URLFile string `yaml:"url_file"`
	// Schema is the database schema range the version works with; the
	// schema-aware guard never reverts to a version it excludes.
	Schema SchemaRange `yaml:"schema"`
	// urlRead marks a URL read from URLFile, so validating again re-reads
	// the file instead of seeing both url and url_file set.
	urlRead bool
}

// Policy decides when a version is bad and what to do about it.
type Policy struct {
	// Interval is how often the time-based checks run: requests still
	// waiting past a latency bound, blind signals, metrics without request
	// counts. Evidence with counts is judged as it arrives. Default 50ms.
	Interval time.Duration `yaml:"interval"`
	// Window is what `ripcord status` and the fixed-window rule show and
	// judge; the sequential tests use every request since the deploy.
	// Default 10s.
	Window time.Duration `yaml:"window"`
	// MinSamples is a floor: no metric is called anomalous on fewer
	// observations. The sequential tests need none to be safe. Default 0.
	MinSamples int64 `yaml:"min_samples"`
	Require    int   `yaml:"require"` // anomalous metrics needed; default 2
	// Consecutive: fresh windows in a row a metric without request counts
	// (a gauge, a windowed PromQL ratio) must be anomalous on. Default 2.
	Consecutive int `yaml:"consecutive"`
	// Alpha is the false-rollback budget of one deploy: the chance that a
	// healthy version is ever reverted, however long it is watched (during
	// bake and after). Default 0.01: at most 1 false rollback in 100
	// healthy deploys.
	Alpha float64 `yaml:"alpha"`
	// Sustain: one anomalous metric proven at a far stricter level than the
	// K-of-N rule needs, continuously for this long, acts as a critical one.
	// 0 restores the seed's pure K-of-N rule. Default 15s.
	Sustain time.Duration `yaml:"sustain"`
	// SuspectGrace: a version suspect (anomalous, but not enough to revert)
	// for this long opens a minor incident saying why it was not reverted.
	// Longer than sustain, so no such incident opens for a metric sustain
	// is about to act on. Default 30s.
	SuspectGrace time.Duration `yaml:"suspect_grace"`
	Cooldown     time.Duration `yaml:"cooldown"`     // default 5m
	Bake         time.Duration `yaml:"bake"`         // default 10m
	MaxFallback  int           `yaml:"max_fallback"` // default 2
	// Verify is how long a reverted-to version must stay healthy before the
	// service is stable again. Default 10s.
	Verify time.Duration `yaml:"verify"`
	// BlindGrace is how long signals may be missing before a "flying blind"
	// incident opens. Default 30s.
	BlindGrace time.Duration `yaml:"blind_grace"`
	// Confidence is the one-sided confidence a windowed rate (a source
	// without request counts) must exceed its threshold with. Default 0.99.
	// The sequential tests are set by Alpha instead.
	Confidence float64              `yaml:"confidence"`
	Thresholds map[string]Threshold `yaml:"thresholds"`
	// DryRun is observe-only: ripcord decides, records, opens incidents and
	// notifies ("would have rolled back v2 → v1") but never moves traffic
	// on its own. A person's rollback still does. Default false.
	DryRun bool `yaml:"dry_run"`
}

// Threshold bounds one metric. Max/Min are anomalies (K of them are needed);
// Critical alone is enough to call the version bad. For metrics where lower is
// worse (quality_score) Critical is a lower bound.
type Threshold struct {
	Max      *float64 `yaml:"max"`
	Min      *float64 `yaml:"min"`
	Critical *float64 `yaml:"critical"`
	// Baseline judges the metric against the previous version instead of
	// (or as well as) fixed limits.
	Baseline *Baseline `yaml:"baseline"`
}

// Baseline compares a version with the one before it: the previous
// version's statistics over the window before the deploy (blue-green runs
// one version at a time, so that is the freshest comparable traffic).
// Any limit set that is exceeded makes the metric anomalous.
type Baseline struct {
	// MaxIncrease is the largest relative worsening allowed: 0.2 means
	// 20% worse than the baseline (higher, or lower for min-type metrics).
	MaxIncrease *float64 `yaml:"max_increase"`
	// MaxDelta is the largest absolute worsening allowed, in the metric's
	// unit (0.05 for a rate means 5 percentage points).
	MaxDelta *float64 `yaml:"max_delta"`
	// Test "mann_whitney" compares per-second values of both versions with
	// a Mann-Whitney U test, as Kayenta does: anomalous when worse with the
	// given confidence AND by more than Tolerance (relative).
	Test       string  `yaml:"test"`
	Confidence float64 `yaml:"confidence"` // default 0.99
	Tolerance  float64 `yaml:"tolerance"`  // default 0.1
}
