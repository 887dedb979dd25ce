package replicastats

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/signal/proxystats"
)

// Defaults for zero ReceiverOptions fields.
const (
	// DefaultStaleAfter: a replica that has not reported for this long is
	// left out of the window. 20 of the Sender's 100 ms intervals, and
	// above its 1 s POST timeout plus an interval, so one slow or lost
	// POST (a GC pause, a leader busy for a moment) does not drop a live
	// replica's traffic from the verdict.
	DefaultStaleAfter = 2 * time.Second
	// DefaultForgetAfter: a replica quiet this long has its slots freed
	// (the counts of its generations stay while they may count).
	DefaultForgetAfter = 10 * time.Minute
	// MaxBodyBytes bounds a report POST (the Sender keeps under 4 MiB).
	MaxBodyBytes = 16 << 20
)

// maxSkew is the clock difference the leader warns about: half of
// proxy.GenSlack, the tolerance a replica's generation start is judged
// with, and five slots.
const maxSkew = proxy.GenSlack / 2

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	// Token is the shared secret every replica sends as a bearer token.
	// Required; never logged.
	Token string
	// Self is this replica's name: a report sent under it is refused, as
	// it would count this switch's traffic twice.
	Self        string
	StaleAfter  time.Duration
	ForgetAfter time.Duration
	Logger      *slog.Logger
	// Now is the clock freshness is judged on (tests); default time.Now.
	Now func() time.Time
}

// Receiver is the leader's end: an http.Handler keeping the latest report
// of every (replica, service), and the merged statistics of each service.
type Receiver struct {
	opts     ReceiverOptions
	tokenSum [sha256.Size]byte
	instance string
	log      *slog.Logger

	mu        sync.RWMutex
	seen      map[string]time.Time // replica → last report, on the receiver's clock
	skew      map[string]time.Duration
	warned    map[string]time.Time // replica → last clock warning
	remotes   map[string]*proxy.Remote
	locals    map[string]*proxy.Switch
	lastSweep time.Time
}

// NewReceiver returns a Receiver; opts.Token must be set.
func NewReceiver(opts ReceiverOptions) (*Receiver, error) {
	if opts.Token == "" {
		return nil, errors.New("replicastats: receiver needs the shared replica token")
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	if opts.ForgetAfter <= 0 {
		opts.ForgetAfter = DefaultForgetAfter
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var id [8]byte
	rand.Read(id[:])
	return &Receiver{opts: opts, tokenSum: sha256.Sum256([]byte(opts.Token)), instance: hex.EncodeToString(id[:]),
		log: opts.Logger, seen: map[string]time.Time{}, skew: map[string]time.Duration{}, warned: map[string]time.Time{}, remotes: map[string]*proxy.Remote{}, locals: map[string]*proxy.Switch{}}, nil
}

// Instance identifies this receiver (a new one after a restart).
func (r *Receiver) Instance() string { return r.instance }

// Stats registers service's local switch and returns its merged
// statistics: the local switch's plus every fresh replica report, what
// proxystats.New reads. Remote bad evidence pokes sw.Evidence.
func (r *Receiver) Stats(service string, sw *proxy.Switch) *Merged {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.locals[service] = sw
	rem := r.remoteLocked(service)
	rem.SetRetention(sw.Retention())
	return &Merged{r: r, sw: sw, remote: rem}
}

func (r *Receiver) remoteLocked(service string) *proxy.Remote {
	rem := r.remotes[service]
	if rem == nil {
		rem = proxy.NewRemote(proxy.DefaultRetention)
		r.remotes[service] = rem
	}
	return rem
}

// fresh is the set of replicas that reported within StaleAfter.
func (r *Receiver) fresh() map[string]bool {
	now := r.opts.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]bool, len(r.seen))
	for name, at := range r.seen {
		if now.Sub(at) <= r.opts.StaleAfter {
			out[name] = true
		}
	}
	return out
}

// ReplicaStatus is one reporting replica as the leader sees it.
type ReplicaStatus struct {
	Replica string        `json:"replica"`
	Age     time.Duration `json:"age"` // since its last report
	Fresh   bool          `json:"fresh"`
	// Skew is how far the replica's clock was ahead of the leader's at
	// its last report (network delay included).
	Skew time.Duration `json:"skew"`
}

// Replicas lists the replicas that reported, for status pages.
func (r *Receiver) Replicas() []ReplicaStatus {
	now := r.opts.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]ReplicaStatus, 0, len(r.seen))
	for name, at := range r.seen {
		out = append(out, ReplicaStatus{Replica: name, Age: now.Sub(at), Fresh: now.Sub(at) <= r.opts.StaleAfter, Skew: r.skew[name]})
	}
	slices.SortFunc(out, func(a, b ReplicaStatus) int { return strings.Compare(a.Replica, b.Replica) })
	return out
}

// Merged is one service's statistics over every replica
// (proxystats.Stats).
type Merged struct {
	r      *Receiver
	sw     *proxy.Switch
	remote *proxy.Remote
}

var _ proxystats.Stats = (*Merged)(nil)

// Stats is the local switch's Stats plus the other replicas' (proxy.Remote.Merge).
func (m *Merged) Stats(version string, since, now time.Time) proxy.Snapshot {
	snap := m.sw.Stats(version, since, now)
	fresh := m.r.fresh()
	m.remote.Merge(&snap, version, since, now, func(replica string) bool { return fresh[replica] })
	return snap
}

// HeaderMetrics are the local switch's (every replica has the same config).
func (m *Merged) HeaderMetrics() []string { return m.sw.HeaderMetrics() }

// HeaderSignal is Switch.HeaderSignal over every replica: the mean of the
// header values all fresh replicas' answers carried, their count, and the
// requests the version completed on all of them.
func (m *Merged) HeaderSignal(version, metric string, since, now time.Time) (mean float64, n, requests int64) {
	mean, n, _ = m.sw.HeaderSignal(version, metric, since, now)
	fresh := m.r.fresh()
	sum, rn := m.remote.Signal(version, metric, since, now, func(replica string) bool { return fresh[replica] })
	if n+rn > 0 {
		mean = (mean*float64(n) + sum) / float64(n+rn)
	}
	return mean, n + rn, m.Stats(version, since, now).Requests
}

// Activity is Switch.Activity with the other replicas' reported requests
// added, for the controller's trigger (OnEvidence's idle test): a service
// whose traffic crosses only followers is busy, not idle.
func (m *Merged) Activity() (completed uint64, waiting bool) {
	completed, waiting = m.sw.Activity()
	return completed + m.remote.Applied(), waiting
}

// ServeHTTP takes one Batch: 401 without the token, 400 naming the field
// of a malformed one, 409 for this replica's own.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST a report")
		return
	}
	if !r.authorized(req) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ripcord replicas"`)
		httpError(w, http.StatusUnauthorized, "unauthorized", "a replica report needs the shared replica token as a bearer token")
		return
	}
	var b Batch
	if err := decode(http.MaxBytesReader(w, req.Body, MaxBodyBytes), &b); err != nil {
		httpError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := validate(&b); err != nil {
		httpError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if r.opts.Self != "" && b.Replica == r.opts.Self {
		httpError(w, http.StatusConflict, "conflict", "replica: "+b.Replica+" is this replica; its own traffic is already counted")
		return
	}
	reply := r.apply(&b)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(reply)
}

func (r *Receiver) authorized(req *http.Request) bool {
	tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	// Hashing first makes the comparison's time independent of the
	// length too.
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], r.tokenSum[:]) == 1
}

func decode(body io.Reader, b *Batch) error {
	err := json.NewDecoder(body).Decode(b)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var me *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return fmt.Errorf("%s: want %s, got JSON %s", te.Field, te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("body: invalid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &me):
		return fmt.Errorf("body: larger than %d bytes", me.Limit)
	case errors.Is(err, io.EOF):
		return errors.New("body: empty, want a JSON report")
	}
	return fmt.Errorf("body: %v", err)
}

func validate(b *Batch) error {
	if b.V != proxy.ReportFormat {
		return fmt.Errorf("v: report format %d, this leader reads %d (run the same ripcord version on every replica)", b.V, proxy.ReportFormat)
	}
	if b.Replica == "" {
		return errors.New("replica: empty, want the sending replica's name")
	}
	for i, s := range b.Services {
		if s.Service == "" {
			return fmt.Errorf("services[%d].service: empty", i)
		}
		for j := range s.Versions {
			if err := s.Versions[j].Validate(); err != nil {
				return fmt.Errorf("services[%d].versions[%d].%w", i, j, err)
			}
		}
	}
	return nil
}

// apply stores a validated batch and answers with the bounds to track.
func (r *Receiver) apply(b *Batch) Reply {
	now := r.opts.Now()
	reply := Reply{V: proxy.ReportFormat, Instance: r.instance}
	r.mu.Lock()
	r.seen[b.Replica] = now
	if b.At != 0 {
		skew := time.Unix(0, b.At).Sub(now)
		r.skew[b.Replica] = skew
		if (skew > maxSkew || skew < -maxSkew) && now.Sub(r.warned[b.Replica]) > 10*time.Minute {
			r.warned[b.Replica] = now
			r.log.Warn("replica stats: a replica's clock is far from the leader's; its slots land at the wrong time (run NTP on every replica)",
				"replica", b.Replica, "ahead_by", skew)
		}
	}
	type target struct {
		rem   *proxy.Remote
		local *proxy.Switch
	}
	targets := make([]target, len(b.Services))
	for i, s := range b.Services {
		targets[i] = target{r.remoteLocked(s.Service), r.locals[s.Service]}
	}
	var quiet []string
	if now.Sub(r.lastSweep) > r.opts.ForgetAfter/10 {
		r.lastSweep = now
		for name, at := range r.seen {
			if now.Sub(at) > r.opts.ForgetAfter {
				quiet = append(quiet, name)
				delete(r.seen, name)
				delete(r.skew, name)
				delete(r.warned, name)
			}
		}
	}
	all := make([]*proxy.Remote, 0, len(r.remotes))
	if len(quiet) > 0 {
		for _, rem := range r.remotes {
			all = append(all, rem)
		}
	}
	r.mu.Unlock()

	for i, s := range b.Services {
		t := targets[i]
		if t.rem.Apply(b.Replica, s.Versions) && t.local != nil {
			t.local.NotifyEvidence()
		}
		if t.local == nil {
			continue
		}
		for _, v := range s.Versions {
			lat, ttfb := t.local.TrackedBounds(v.Version)
			if len(lat)+len(ttfb) == 0 {
				continue
			}
			if reply.Track == nil {
				reply.Track = map[string]map[string]Bounds{}
			}
			if reply.Track[s.Service] == nil {
				reply.Track[s.Service] = map[string]Bounds{}
			}
			reply.Track[s.Service][v.Version] = Bounds{Latency: lat, TTFB: ttfb}
		}
	}
	for _, name := range quiet {
		r.log.Info("replica stats: replica quiet, its window dropped", "replica", name, "quiet_for", r.opts.ForgetAfter)
		for _, rem := range all {
			rem.DropWindow(name)
		}
	}
	return reply
}

// httpError answers as internal/api does: {"error": …, "code": …}.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code})
}
