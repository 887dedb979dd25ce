package config

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
)

// HA runs several `ripcord serve` replicas on one PostgreSQL store as one
// guard: for each shard of the services exactly one replica acts (decides,
// reverts, notifies) under a lease in the database; every replica serves
// the API (writes are forwarded to the acting replica) and runs the
// built-in switch, following the shared active version. Absent: a single
// replica, which acts on everything.
type HA struct {
	// Replica names this replica, unique among them. Default: the
	// environment variable RIPCORD_REPLICA, else the host name (in
	// Kubernetes, the pod name).
	Replica string `yaml:"replica"`
	// Advertise is the URL the other replicas reach this replica's API
	// at (forwarded writes, live statistics). Default: RIPCORD_ADVERTISE,
	// else http://API.LISTEN when api.listen names a host.
	Advertise string `yaml:"advertise"`
	// LeaseTTL is how long a lease lasts without renewal: a leader that
	// cannot renew stops acting before it ends, and a follower takes over
	// after it. Renewed every third of it. Default 5s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Shards splits the services over this many leases (by a hash of the
	// name), so several replicas can each act on a part. Default 1.
	Shards int `yaml:"shards"`
	// Lease is who elects the acting replica: "postgres" (the default, a
	// row in the store) or "kubernetes" (a coordination.k8s.io Lease per
	// shard, by client-go's leader election). Either way every write
	// carries the fencing epoch of a row in the store.
	Lease string `yaml:"lease"`
	// Kubernetes locates the Lease objects when lease is kubernetes.
	Kubernetes HAKubernetes `yaml:"kubernetes"`
}

// HAKubernetes is where the replicas' Kubernetes Leases live.
type HAKubernetes struct {
	// Namespace of the Leases. Default: the namespace ripcord's pod runs
	// in (its ServiceAccount's), else $POD_NAMESPACE.
	Namespace string `yaml:"namespace"`
	// Name prefixes the Leases: NAME-shard-0, NAME-shard-1, ... Default
	// ripcord; two installations in one namespace need different names.
	Name string `yaml:"name"`
	// Kubeconfig is the client configuration file; empty: in-cluster
	// (the pod's ServiceAccount).
	Kubeconfig field.File `yaml:"kubeconfig"`
}

// The values of ha.lease.
const (
	LeasePostgres   = "postgres"
	LeaseKubernetes = "kubernetes"
)

// serviceAccountNamespace is where a pod finds its own namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Defaults of the ha block.
const (
	DefaultLeaseTTL = 5 * time.Second
	MinLeaseTTL     = 100 * time.Millisecond
	MaxShards       = 256
	// MinKubeLeaseTTL: a Kubernetes Lease's renewals are compared in
	// whole seconds, so a leader must stop acting more than a second
	// before its Lease ends (ha.electionTimes).
	MinKubeLeaseTTL = 4 * time.Second
)

var (
	replicaName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	leaseName   = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)
)

// Resolved returns h with every default filled: the replica name and the
// advertised URL from the environment or the host, for the API listening
// on apiListen. It reports what it could not fill as a Problem list, the
// same way Validate does.
func (h HA) Resolved(apiListen string) (HA, error) {
	var r report
	if h.LeaseTTL == 0 {
		h.LeaseTTL = DefaultLeaseTTL
	}
	if h.Shards == 0 {
		h.Shards = 1
	}
	if h.Lease == "" {
		h.Lease = LeasePostgres
	}
	if h.Lease == LeaseKubernetes {
		if h.Kubernetes.Name == "" {
			h.Kubernetes.Name = "ripcord"
		}
		if h.Kubernetes.Namespace == "" {
			if b, err := os.ReadFile(serviceAccountNamespace); err == nil {
				h.Kubernetes.Namespace = strings.TrimSpace(string(b))
			}
		}
		if h.Kubernetes.Namespace == "" {
			h.Kubernetes.Namespace = os.Getenv("POD_NAMESPACE")
		}
		if h.Kubernetes.Namespace == "" {
			r.add("ha.kubernetes.namespace", "is required outside a pod: name the namespace of the Leases, e.g. namespace: ripcord, or set POD_NAMESPACE")
		}
	}
	if h.Replica == "" {
		h.Replica = os.Getenv("RIPCORD_REPLICA")
	}
	if h.Replica == "" {
		h.Replica, _ = os.Hostname()
	}
	if h.Advertise == "" {
		h.Advertise = os.Getenv("RIPCORD_ADVERTISE")
	}
	if h.Advertise == "" {
		if host, port, err := net.SplitHostPort(apiListen); err == nil && !wildcard(host) && port != "0" {
			h.Advertise = "http://" + apiListen
		}
	}
	if host, port, err := net.SplitHostPort(apiListen); h.Advertise == "" && err == nil && port == "0" && !wildcard(host) {
		// The port is chosen when the API binds: the caller fills
		// Advertise from the bound address.
		return h, r.err()
	}
	if h.Replica == "" {
		r.add("ha.replica", "is required here: no RIPCORD_REPLICA and no host name; name this replica, e.g. replica: ripcord-0")
	} else if !replicaName.MatchString(h.Replica) {
		r.add("ha.replica", "%q: use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", h.Replica)
	}
	if h.Advertise == "" {
		r.add("ha.advertise", "is required when api.listen (%s) listens on every interface: set the URL other replicas reach this one at, e.g. http://10.0.0.5:7070, or RIPCORD_ADVERTISE", apiListen)
	}
	return h, r.err()
}

// validateHA checks the ha block without resolving what comes from the
// environment (serve does that, with Resolved).
func (c *Config) validateHA(r *report) {
	h := c.HA
	if h == nil {
		return
	}
	if c.Store.Kind() != StorePostgres {
		r.add("ha", "needs a PostgreSQL store, where the replicas share state and leases: set store.url: postgres://... (or store.url_file), or remove ha")
	}
	if len(c.API.Tokens) == 0 {
		r.add("ha", "needs api.tokens: every replica must accept the same tokens, because a write sent to a follower is forwarded to the leader with the caller's own token (a generated local token differs per replica)")
	}
	if h.LeaseTTL != 0 && h.LeaseTTL < MinLeaseTTL {
		r.add("ha.lease_ttl", "%s is too short: at least %s (a leader renews every third of it), e.g. 5s", h.LeaseTTL, MinLeaseTTL)
	}
	switch h.Lease {
	case "", LeasePostgres:
		if h.Kubernetes != (HAKubernetes{}) {
			r.add("ha.kubernetes", "is only used with lease: kubernetes: set lease: kubernetes or remove ha.kubernetes")
		}
	case LeaseKubernetes:
		// A Lease object counts its duration in whole seconds, and the
		// other replicas judge expiry by the object's own count.
		if h.LeaseTTL != 0 && (h.LeaseTTL < MinKubeLeaseTTL || h.LeaseTTL%time.Second != 0) {
			r.add("ha.lease_ttl", "%s: with lease: kubernetes it must be a whole number of seconds, at least %s (a Lease counts whole seconds), e.g. 5s", h.LeaseTTL, MinKubeLeaseTTL)
		}
		if n := h.Kubernetes.Name; n != "" && !leaseName.MatchString(n) {
			r.add("ha.kubernetes.name", "%q: use lower-case letters, digits and '-', up to 40, starting with a letter (the Leases are NAME-shard-N)", n)
		}
		if ns := h.Kubernetes.Namespace; ns != "" && !leaseName.MatchString(ns) {
			r.add("ha.kubernetes.namespace", "%q is not a namespace name: lower-case letters, digits and '-'", ns)
		}
	default:
		r.add("ha.lease", "%q: must be postgres (a row in the store, the default) or kubernetes (a coordination.k8s.io Lease per shard)", h.Lease)
	}
	if h.Shards < 0 || h.Shards > MaxShards {
		r.add("ha.shards", "%d: must be between 1 and %d (1, the default, is one lease for every service)", h.Shards, MaxShards)
	}
	if h.Replica != "" && !replicaName.MatchString(h.Replica) {
		r.add("ha.replica", "%q: use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", h.Replica)
	}
	if h.Advertise != "" {
		u, err := url.Parse(h.Advertise)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			r.add("ha.advertise", "%q: must be an http:// or https:// URL with a host and no credentials, e.g. http://10.0.0.5:7070", h.Advertise)
		}
	}
}
