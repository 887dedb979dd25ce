package kubernetes

import (
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ripcord/ripcord/internal/config/field"
)

// Mode selects how a Target reverts.
type Mode string

const (
	// ModeRolloutUndo restores an older ReplicaSet's pod template into the
	// Deployment, as `kubectl rollout undo --to-revision` does.
	ModeRolloutUndo Mode = "rollout-undo"
	// ModeServiceSelector points a Service at another, already running,
	// Deployment (blue-green).
	ModeServiceSelector Mode = "service-selector"
	// ModeHTTPRoute sets the weights of two backendRefs (stable and canary
	// Services) of one rule of a Gateway API HTTPRoute, and nothing else.
	ModeHTTPRoute Mode = "httproute"
)

// VersionLabel is the pod-template label that names a version explicitly.
const VersionLabel = "ripcord.dev/version"

// Defaults.
const (
	DefaultSelectorKey    = "version"
	DefaultRolloutTimeout = 5 * time.Minute
)

// Config is the Kubernetes target's configuration. In YAML:
//
//	kubeconfig: ""              # empty: in-cluster config (ServiceAccount); relative to the config file
//	namespace: llm              # required
//	mode: rollout-undo          # or service-selector
//	deployment: llm-api         # rollout-undo: required
//	container: server           # optional when the pod has one container
//	service: llm-api            # service-selector: required
//	selector_key: version       # service-selector: default "version"
//	rollout_timeout: 5m         # rollout-undo: default 5m
//	httproute:                  # httproute: required
//	  name: llm-api             # the HTTPRoute, in namespace (or "gateway-ns/llm-api")
//	  rule: canary              # the rule's name, or
//	  rule_index: 0             # its index (default 0 when rule is empty)
//	  stable: llm-api-stable    # the stable backendRef (a Service name)
//	  canary: llm-api-canary    # the canary backendRef (a Service name)
type Config struct {
	Kubeconfig     field.File    `yaml:"kubeconfig"`
	Namespace      string        `yaml:"namespace"`
	Deployment     string        `yaml:"deployment"`
	Container      string        `yaml:"container"`
	Mode           Mode          `yaml:"mode"`
	Service        string        `yaml:"service"`
	SelectorKey    string        `yaml:"selector_key"`
	RolloutTimeout time.Duration `yaml:"rollout_timeout"`
	HTTPRoute      HTTPRoute     `yaml:"httproute"`
}

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeRolloutUndo
	}
	if c.SelectorKey == "" {
		c.SelectorKey = DefaultSelectorKey
	}
	if c.RolloutTimeout == 0 {
		c.RolloutTimeout = DefaultRolloutTimeout
	}
	return c
}

// Validate reports every missing or contradictory field at once, as
// field.Errors with paths relative to the target's block; empty fields are
// judged as their defaults. It contacts nothing.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs field.Errors
	if c.Namespace == "" {
		errs.Add("namespace", "is required: the namespace of the Deployment (or Service), e.g. llm")
	}
	switch c.Mode {
	case ModeRolloutUndo:
		if c.Deployment == "" {
			errs.Add("deployment", "is required in mode %s: the Deployment whose rollout is undone, e.g. llm-api", ModeRolloutUndo)
		}
	case ModeServiceSelector:
		if c.Service == "" {
			errs.Add("service", "is required in mode %s: the Service whose selector picks the version, e.g. llm-api", ModeServiceSelector)
		}
	case ModeHTTPRoute:
		c.HTTPRoute.validate(&errs)
	default:
		errs.Add("mode", "must be %s, %s or %s, not %q", ModeRolloutUndo, ModeServiceSelector, ModeHTTPRoute, c.Mode)
	}
	if c.Mode != ModeHTTPRoute && c.HTTPRoute != (HTTPRoute{}) {
		errs.Add("httproute", "is only used in mode %s: set mode: %s or remove httproute", ModeHTTPRoute, ModeHTTPRoute)
	}
	if c.RolloutTimeout < 0 {
		errs.Add("rollout_timeout", "must not be negative (0 means the default, %s)", DefaultRolloutTimeout)
	}
	return errs.Err()
}

// RESTConfig loads the client configuration: the kubeconfig file when path
// is set, else the in-cluster ServiceAccount configuration.
func RESTConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes: in-cluster config (set kubeconfig when running outside a cluster): %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// restConfigFor is the client configuration every client of cfg shares.
func restConfigFor(cfg Config) (*rest.Config, error) {
	rc, err := RESTConfig(string(cfg.Kubeconfig))
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "ripcord"
	// client-go's default of 5 requests/s would queue a revert behind the
	// watcher's own traffic; the API server's priority and fairness is the
	// real limit.
	rc.QPS, rc.Burst = 50, 100
	return rc, nil
}

// NewClientset builds a clientset from cfg.Kubeconfig (or in-cluster).
func NewClientset(cfg Config) (kubernetes.Interface, error) {
	rc, err := restConfigFor(cfg)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: client: %w", err)
	}
	return cs, nil
}
