package ha

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"time"
)

// Status is the replicas' view for `ripcord status` and GET /api/v1/ha.
type Status struct {
	Replica string `json:"replica"`
	// Election is who elects the acting replica: "postgres" (lease rows
	// in the store) or "kubernetes" (a Lease per shard).
	Election string          `json:"election"`
	Shards   []ShardStatus   `json:"shards"`
	Replicas []ReplicaStatus `json:"replicas"`
}

// ShardStatus is who acts for one shard.
type ShardStatus struct {
	Shard int    `json:"shard"`
	Lease string `json:"lease"`
	// KubeLease is the Kubernetes Lease (namespace/name) electing the
	// shard's leader with ha.lease: kubernetes.
	KubeLease string `json:"kube_lease,omitempty"`
	Leader    string `json:"leader,omitempty"` // "" while nobody holds it
	Epoch     int64  `json:"epoch,omitempty"`
	// Expires is the lease's expiry on the database's clock.
	Expires  time.Time `json:"expires,omitzero"`
	Services int       `json:"services"`
}

// ReplicaStatus is one live replica and the shards it acts for.
type ReplicaStatus struct {
	Name      string    `json:"name"`
	Advertise string    `json:"advertise"`
	SeenAt    time.Time `json:"seen_at"`
	Shards    []int     `json:"shards"`
}

// Status reports the last view of the leases and replicas (refreshed
// every third of the lease TTL); services counts each shard's services.
func (r *Replica) Status(services []string) Status {
	per := make([]int, len(r.shards))
	for _, s := range services {
		per[r.ShardOf(s)]++
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Status{Replica: r.cfg.Replica, Election: "postgres"}
	if r.kube != nil {
		out.Election = "kubernetes"
	}
	led := map[string][]int{}
	for _, s := range r.shards {
		ss := ShardStatus{Shard: s.idx, Lease: s.name, Services: per[s.idx]}
		if r.kube != nil {
			ss.KubeLease = r.cfg.Kubernetes.Namespace + "/" + r.LeaseName(s.idx)
		}
		if l, ok := r.leases[s.name]; ok && l.Live {
			ss.Leader, ss.Epoch, ss.Expires = l.Holder, l.Epoch, l.ExpiresAt
			led[l.Holder] = append(led[l.Holder], s.idx)
		}
		out.Shards = append(out.Shards, ss)
	}
	for _, rp := range r.replicas {
		out.Replicas = append(out.Replicas, ReplicaStatus{Name: rp.Name, Advertise: rp.Advertise, SeenAt: rp.SeenAt,
			Shards: append([]int{}, led[rp.Name]...)})
	}
	return out
}

// LeaderURL is the advertised API URL of shard's leader, "" while none is
// known (or it is this replica).
func (r *Replica) LeaderURL(shard int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.leases[r.shards[shard].name]
	if !ok || !l.Live || l.Holder == r.cfg.Replica {
		return ""
	}
	for _, rp := range r.replicas {
		if rp.Name == l.Holder {
			return rp.Advertise
		}
	}
	return ""
}

// ForwardedHeader marks a request one replica forwarded to another, so
// it is never forwarded twice (leadership moved while it travelled).
const ForwardedHeader = "X-Ripcord-Forwarded-By"

var servicePath = regexp.MustCompile(`/services/([a-z0-9-]+)(/|$)`)

// Forward sends every request to the replica acting for the shard it
// concerns (a service's, by the path; shard 0's otherwise: the service
// list, incidents, the dashboard, sign-in), with the caller's own
// credentials, which the leader checks as it would from the caller. So a
// user behind a load balancer sees the acting replica's verdicts, whichever
// replica answers. This replica's own /healthz, /metrics and
// /api/v1/ha are always answered here. While no leader is known (or it
// does not answer) a read is answered here from the shared state and a
// write gets 503 with Retry-After: a write is never applied by a replica
// that is not acting.
func (r *Replica) Forward(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/healthz", "/metrics", "/api/v1/ha":
			next.ServeHTTP(w, req)
			return
		}
		read := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions
		shard := 0
		if m := servicePath.FindStringSubmatch(req.URL.Path); m != nil {
			shard = r.ShardOf(m[1])
		}
		if r.Leads(shard) {
			// Not under the shard's lock: a drill may take a minute, and a
			// term must be able to end meanwhile (its writes then fail).
			next.ServeHTTP(w, req)
			return
		}
		target := r.LeaderURL(shard)
		if target == "" && !read {
			r.refresh(req.Context()) // a term may have begun since the last look
			target = r.LeaderURL(shard)
		}
		u, err := url.Parse(target)
		if target == "" || err != nil || req.Header.Get(ForwardedHeader) != "" {
			if read {
				next.ServeHTTP(w, req)
				return
			}
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"no replica is acting for this service right now (a leader is being elected): retry in a second"}`,
				http.StatusServiceUnavailable)
			return
		}
		p := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.SetXForwarded()
				pr.Out.Host = pr.In.Host
				pr.Out.Header.Set(ForwardedHeader, r.cfg.Replica)
			},
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
				if read && req.Context().Err() == nil {
					next.ServeHTTP(w, req) // the leader is gone: what this replica knows
					return
				}
				w.Header().Set("Retry-After", "1")
				http.Error(w, `{"error":"the acting replica did not answer: retry in a second"}`, http.StatusBadGateway)
			},
		}
		p.ServeHTTP(w, req)
	})
}
