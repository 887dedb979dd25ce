package proxy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnknownVersion is returned by Activate for a name never passed to
// SetVersion.
var ErrUnknownVersion = errors.New("proxy: unknown version")

// Totals are cumulative counters since start, for Prometheus exposition.
// Unsolicited is the bytes the version sent that no request asked for
// (each time, the connection was closed instead of reused).
type Totals struct{ Requests, Errors, Unsolicited uint64 }

// version is one upstream behind the switch. It is immutable once published;
// SetVersion with a new URL publishes a new *version sharing the stats.
type version struct {
	name   string
	target *url.URL
	path   string // target's path as sent (escaped, no trailing slash); "" for "/"
	// query is the version URL's raw query, put before every request's own
	// (as httputil.ReverseProxy joins them): an API key a backend wants.
	query string
	// auth is the Authorization value ("Basic …") the version URL's
	// userinfo stands for, sent when the client sent none (as http.Client
	// does with a URL's userinfo); "" without userinfo.
	auth  string
	up    *upstream
	stats *series
	sig   *sigSeries // nil without Options.Headers
}

// Switch is the blue-green traffic switch of one service.
type Switch struct {
	opts    Options
	headers []headerSignal // from opts.Headers
	log     *slog.Logger
	now     func() time.Time // the clock; tests replace it
	h1dial  dialFunc         // nil: TCP; the differential fuzz dials in memory
	junkLog rateLimit

	mu       sync.Mutex                          // serialises writers of versions/active; never taken by requests
	versions atomic.Pointer[map[string]*version] // copy-on-write
	active   atomic.Pointer[version]
	split    atomic.Pointer[split]     // a canary in progress (canary.go); nil: none
	shadow   atomic.Pointer[shadowRun] // copies of live traffic (shadow.go); nil: none
	drill    *drill                    // a drill in progress (drill.go); guarded by mu
	sticky   Sticky                    // opts.Sticky, the header name in lower case
	fallback atomic.Pointer[string]
	evidence chan struct{} // Evidence; capacity 1
	// reportEvidence is poked with evidence for the replica reporter
	// (ReportEvidence), so it never takes a poke the controller waits for.
	reportEvidence chan struct{}
	lastSpec       []boundSpec // the bounds last tracked for any version (mu)
}

// New returns a Switch with no versions; every request is answered 503 until
// a version is set and activated.
func New(opts Options) *Switch {
	opts = opts.withDefaults()
	s := &Switch{opts: opts, headers: compileHeaders(opts.Headers), log: opts.Logger.With("service", opts.Service), now: time.Now,
		evidence: make(chan struct{}, 1), reportEvidence: make(chan struct{}, 1)}
	s.sticky = Sticky{Header: strings.ToLower(opts.Sticky.Header), Cookie: opts.Sticky.Cookie}
	empty := map[string]*version{}
	s.versions.Store(&empty)
	none := ""
	s.fallback.Store(&none)
	return s
}

// SetVersion adds or updates a version's upstream (absolute http URL). Safe
// during traffic: requests already sent to the old URL finish there, its idle
// connections are closed, and the version keeps its statistics.
func (s *Switch) SetVersion(name, rawURL string) error {
	if name == "" {
		return errors.New("proxy: empty version name")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("proxy: version %q: %w", name, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("proxy: version %q: want an absolute http URL, got %q", name, rawURL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := (*s.versions.Load())[name]
	v := &version{name: name, target: u, path: versionPath(u), query: u.RawQuery, auth: basicAuth(u.User)}
	if old != nil {
		v.stats, v.sig = old.stats, old.sig
	} else {
		v.stats = newSeries(s.now(), s.opts.Retention)
		if len(s.headers) > 0 {
			v.sig = newSigSeries(s.opts.Retention, len(s.headers))
		}
	}
	v.up = newUpstream(u, upstreamOpts{responseTimeout: s.opts.ResponseTimeout, drainTimeout: s.opts.DrainTimeout,
		h1dial: s.h1dial, junk: s.junkFor(name, v.stats)})
	next := make(map[string]*version, len(*s.versions.Load())+1)
	for k, x := range *s.versions.Load() {
		next[k] = x
	}
	next[name] = v
	s.versions.Store(&next)
	if old != nil {
		s.active.CompareAndSwap(old, v)
		if sp := s.split.Load(); sp != nil && (sp.stable == old || sp.canary == old) {
			next := *sp
			if next.stable == old {
				next.stable = v
			} else {
				next.canary = v
			}
			s.split.Store(&next)
		}
		old.up.drain()
	}
	if sp := s.split.Load(); s.active.Load() == v || (sp != nil && sp.canary == v) {
		v.up.undrain()
	}
	s.log.Info("proxy version set", "version", name, "url", redactURL(u))
	return nil
}

// Activate makes name receive the next request; in-flight requests finish
// where they started. It returns the previously active version ("" if none).
// The previous version's idle upstream connections are closed; busy ones are
// closed when their request ends.
func (s *Switch) Activate(name string) (previous string, err error) {
	v := (*s.versions.Load())[name]
	if v == nil {
		return "", fmt.Errorf("proxy: activate %q: %w", name, ErrUnknownVersion)
	}
	s.mu.Lock()
	v = (*s.versions.Load())[name] // SetVersion may have replaced it
	old := s.active.Swap(v)
	if old == nil || old.stats != v.stats {
		s.restart(v) // a new watch: counters from zero
	}
	v.up.undrain()
	if old != nil && old != v {
		old.up.drain()
	}
	s.stopShadowLocked(v)
	// A full switch ends any canary: its version, unless now the active
	// one (promoted), gets no new request.
	if sp := s.split.Swap(nil); sp != nil && sp.canary != v && sp.canary != old {
		sp.canary.up.drain()
	}
	s.mu.Unlock()
	if old == nil {
		s.log.Info("proxy version activated", "version", name)
		return "", nil
	}
	s.log.Info("proxy version activated", "version", name, "previous", old.name)
	return old.name, nil
}

// Active is the name of the version receiving new requests ("" if none).
func (s *Switch) Active() string {
	if v := s.active.Load(); v != nil {
		return v.name
	}
	return ""
}

// SetFallback names the version retry_on_previous retries on ("" = none).
func (s *Switch) SetFallback(name string) {
	s.fallback.Store(&name)
}

// fallbackFor is the version a request that failed on v may be retried on,
// nil if none: never v itself, so no body reaches a version twice.
func (s *Switch) fallbackFor(v *version) *version {
	name := *s.fallback.Load()
	if name == "" || name == v.name {
		return nil
	}
	return (*s.versions.Load())[name]
}

// Stats returns the version's live statistics for requests that completed in
// [since, now], at 100 ms slot granularity, including the open current slot,
// and its cumulative evidence (Snapshot.Cumulative) as of now: requests
// still waiting for their answer are judged against the tracked bounds
// first. An unknown version yields an empty Snapshot.
func (s *Switch) Stats(version string, since, now time.Time) Snapshot {
	v := (*s.versions.Load())[version]
	if v == nil {
		return Snapshot{From: now, To: now}
	}
	snap := v.stats.snapshot(since, now)
	snap.Cumulative = v.stats.cur.Load().cumulative(now)
	return snap
}

// Totals returns cumulative counters since start, per version.
func (s *Switch) Totals() map[string]Totals {
	vs := *s.versions.Load()
	out := make(map[string]Totals, len(vs))
	for name, v := range vs {
		out[name] = Totals{Requests: v.stats.totalReq.Load(), Errors: v.stats.totalErr.Load(), Unsolicited: v.stats.unsolicited.Load()}
	}
	return out
}

// Close closes idle upstream connections of every version.
func (s *Switch) Close() error {
	for _, v := range *s.versions.Load() {
		v.up.closeIdle()
	}
	return nil
}

// redactURL shows a version URL with its password and query values as ***:
// either may carry a credential (url.Redacted hides only the password).
func redactURL(u *url.URL) string {
	r := *u
	_, hasPassword := r.User.Password()
	if hasPassword {
		r.User = url.User(r.User.Username())
	}
	if r.RawQuery != "" {
		parts := strings.Split(r.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=***"
			} else if p != "" {
				parts[i] = "***" // a bare value may be a token too
			}
		}
		r.RawQuery = strings.Join(parts, "&")
	}
	if r.Fragment != "" || r.RawFragment != "" {
		r.Fragment, r.RawFragment = "***", "" // #access_token=…
	}
	out := r.String()
	if hasPassword { // after the escaped user name, which has no raw '@'
		if i := strings.IndexByte(out, '@'); i >= 0 {
			out = out[:i] + ":***" + out[i:]
		}
	}
	return out
}

// basicAuth is the Authorization value for a URL's userinfo, "" for none.
func basicAuth(u *url.Userinfo) string {
	if u == nil {
		return ""
	}
	pw, _ := u.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw))
}

// joinQuery puts the version URL's query before the request's, as
// httputil.ReverseProxy does.
func joinQuery(version, request string) string {
	switch {
	case version == "":
		return request
	case request == "":
		return version
	}
	return version + "&" + request
}
