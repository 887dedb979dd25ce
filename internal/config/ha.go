package config

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"time"
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
}

// Defaults of the ha block.
const (
	DefaultLeaseTTL = 5 * time.Second
	MinLeaseTTL     = 100 * time.Millisecond
	MaxShards       = 256
)

var replicaName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

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
