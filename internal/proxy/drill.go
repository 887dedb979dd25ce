package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// A drill tests the rollback path without a bad build: a share of live
// traffic goes to a fault-injecting wrapper of the active version, which the
// switch treats as one more version ("<active>~drill": '~' is not allowed in
// version names, so it never collides) with its own statistics. The wrapper
// is a real HTTP server on a loopback port that forwards to the active
// version's URL and injects the fault, so both request paths (the fast path
// and net/http) reach it unchanged, and the drill share is published as a
// canary split is: one atomic pointer, read once per request.
//
// The share is the only traffic a drill can touch: the split sends at most
// bp/10,000 of new requests to the wrapper, and ending the drill (EndDrill,
// or any Activate, which ends every split) takes it away for the next
// request.

// Drill fault kinds.
const (
	FaultError   = "error"   // answer 503 without forwarding
	FaultLatency = "latency" // forward after Delay
	FaultQuality = "quality" // forward, then set Header to Value
	FaultStream  = "stream"  // forward, then cut the body half-way
)

// DrillFault says what the wrapper does to each request it gets.
type DrillFault struct {
	Kind   string
	Delay  time.Duration // latency
	Header string        // quality: the response header the switch reads the signal from
	Value  string        // quality: the degraded value it is set to
}

// DrillCounts are the requests since StartDrill: Affected reached the
// wrapper (counted there, so requests still in flight when the share ended
// are in), Live completed on the active version meanwhile. EndedAt is when
// the share was taken away.
type DrillCounts struct {
	Affected, Live uint64
	EndedAt        time.Time
}

// drill is the one drill in progress (Switch.drill, guarded by s.mu).
type drill struct {
	active    *version
	v         *version   // the wrapper's version
	sp        *split     // the share; nil for a shadow drill
	run       *shadowRun // a shadow drill's copies; nil for a share
	srv       *http.Server
	hits      *atomic.Uint64 // requests the wrapper received
	liveStart uint64
}

// DrillSuffix ends the name of a drill's wrapper version.
const DrillSuffix = "~drill"

// StartDrill sends bp basis points (1–5,000: at most half) of new requests
// to a wrapper of version that injects f, and returns the wrapper's version
// name, whose statistics (Stats, HeaderSignal, Track) are the drill's. The
// version must be the active one with no canary, shadow or drill in
// progress. With shadow, no user request goes to the wrapper: it gets
// copies of the active version's live requests instead (the shadow
// options' methods, percent and backlog; bp is not used), and its answers
// reach no one.
func (s *Switch) StartDrill(name string, bp int, f DrillFault, shadow bool) (string, error) {
	if !shadow && (bp < 1 || bp > bucketSpace/2) {
		return "", fmt.Errorf("proxy: drill share %d basis points: want 1–5000 (at most 50%%)", bp)
	}
	switch f.Kind {
	case FaultError, FaultLatency, FaultStream:
	case FaultQuality:
		if f.Header == "" {
			return "", errors.New("proxy: quality drill without a header to degrade")
		}
	default:
		return "", fmt.Errorf("proxy: drill fault %q: want error, latency, quality or stream", f.Kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.active.Load()
	switch {
	case a == nil || a.name != name:
		return "", fmt.Errorf("proxy: drill of %q: it is not the active version (%q is)", name, s.Active())
	case s.split.Load() != nil || s.drill != nil:
		return "", errors.New("proxy: drill refused: a canary or another drill is in progress")
	case s.shadow.Load() != nil:
		return "", errors.New("proxy: drill refused: a shadow is in progress")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("proxy: drill wrapper: %w", err)
	}
	hits := new(atomic.Uint64)
	key := rand.Text() // the wrapper serves only the switch, which prefixes every path with it
	inner := faultHandler(a, f, slog.NewLogLogger(s.log.Handler(), slog.LevelDebug))
	srv := &http.Server{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug), Handler: keyed(key, hits, inner), ReadHeaderTimeout: s.opts.HeaderTimeout}
	go srv.Serve(ln)
	u := &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/" + key}
	dv := &version{name: name + DrillSuffix, target: u, path: versionPath(u), stats: newSeries(s.now(), s.opts.Retention)}
	if len(s.headers) > 0 {
		dv.sig = newSigSeries(s.opts.Retention, len(s.headers))
	}
	dv.up = newUpstream(u, upstreamOpts{responseTimeout: s.opts.ResponseTimeout, drainTimeout: s.opts.DrainTimeout,
		h1dial: s.h1dial, junk: s.junkFor(dv.name, dv.stats)})
	if spec := s.lastSpec; spec != nil {
		dv.stats.cur.Store(newGen(s.now(), spec))
	}
	s.putVersion(dv)
	dv.up.undrain()
	s.drill = &drill{active: a, v: dv, srv: srv, hits: hits, liveStart: a.stats.totalReq.Load()}
	if shadow {
		s.drill.run = s.runShadowLocked(a, dv)
		s.log.Info("proxy drill started on shadow copies", "version", name, "fault", f.Kind)
		return dv.name, nil
	}
	s.drill.sp = &split{stable: a, canary: dv, bp: uint32(bp)}
	s.split.Store(s.drill.sp)
	s.log.Info("proxy drill started", "version", name, "fault", f.Kind, "basis_points", bp)
	return dv.name, nil
}

// EndDrill takes the drill share away (the next request goes to the active
// version), waits for the requests in flight on the wrapper to finish (at
// most DrainTimeout; they are then cut), and returns what the drill served.
// Ending a drill a full switch already ended only collects its counts.
func (s *Switch) EndDrill() (DrillCounts, error) {
	s.mu.Lock()
	d := s.drill
	if d == nil {
		s.mu.Unlock()
		return DrillCounts{}, errors.New("proxy: no drill in progress")
	}
	s.drill = nil
	if d.run != nil {
		if s.shadow.Load() == d.run {
			s.stopShadowLocked(nil)
		}
	} else {
		s.split.CompareAndSwap(d.sp, nil)
	}
	ended := s.now()
	d.v.up.drain()
	s.dropVersion(d.v)
	s.mu.Unlock()
	live := d.active.stats.totalReq.Load() - d.liveStart
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	if d.srv.Shutdown(ctx) != nil {
		d.srv.Close()
	}
	d.v.up.closeIdle()
	c := DrillCounts{Affected: d.hits.Load(), Live: live, EndedAt: ended}
	s.log.Info("proxy drill ended", "affected", c.Affected, "live", c.Live)
	return c, nil
}

// DrillShare reports whether a drill's share is live: false once it ended,
// or once a full switch (Activate) took it away.
func (s *Switch) DrillShare() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.drill; d != nil && d.run != nil {
		return s.shadow.Load() == d.run
	}
	return s.drill != nil && s.split.Load() == s.drill.sp
}

// putVersion publishes v in the version map (copy on write). s.mu held.
func (s *Switch) putVersion(v *version) {
	next := make(map[string]*version, len(*s.versions.Load())+1)
	for k, x := range *s.versions.Load() {
		next[k] = x
	}
	next[v.name] = v
	s.versions.Store(&next)
}

// dropVersion removes v from the version map (copy on write). s.mu held.
func (s *Switch) dropVersion(v *version) {
	next := make(map[string]*version, len(*s.versions.Load()))
	for k, x := range *s.versions.Load() {
		if x != v {
			next[k] = x
		}
	}
	s.versions.Store(&next)
}

// keyed serves only requests whose path starts with /key (the switch's,
// since the drill version's URL carries it), stripped before h sees them:
// the wrapper adds the active version's credentials, so another local
// process must not be able to use it as a way in.
func keyed(key string, hits *atomic.Uint64, h http.Handler) http.Handler {
	prefix := "/" + key
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
		if !ok || (rest != "" && rest[0] != '/') {
			http.NotFound(w, r)
			return
		}
		if rest == "" {
			rest = "/"
		}
		u := *r.URL
		u.RawPath = rest
		var err error
		if u.Path, err = url.PathUnescape(rest); err != nil {
			http.NotFound(w, r)
			return
		}
		r2 := *r
		r2.URL = &u
		hits.Add(1)
		h.ServeHTTP(w, &r2)
	})
}

// faultHandler forwards to the active version a with the fault applied.
// The request arrives from the switch, forwarding headers already set, so
// it is passed on as it came (Rewrite adds no X-Forwarded-*).
func faultHandler(a *version, f DrillFault, errLog *log.Logger) http.Handler {
	if f.Kind == FaultError {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Ripcord-Drill", f.Kind)
			http.Error(w, "ripcord drill: injected error", http.StatusServiceUnavailable)
		})
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(a.target)
			pr.Out.URL.User = nil
			pr.Out.Host = pr.In.Host
			if a.auth != "" && pr.Out.Header.Get("Authorization") == "" {
				pr.Out.Header.Set("Authorization", a.auth)
			}
		},
		Transport:     &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 256},
		FlushInterval: -1,
		ErrorLog:      errLog,
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set("X-Ripcord-Drill", f.Kind)
			switch f.Kind {
			case FaultQuality:
				resp.Header.Set(f.Header, f.Value)
			case FaultStream:
				resp.Body = &cutBody{rc: resp.Body, left: cutAt(resp.ContentLength)}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set("X-Ripcord-Drill", f.Kind)
			http.Error(w, "ripcord drill: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	if f.Kind != FaultLatency {
		return rp
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		rp.ServeHTTP(w, r)
	})
}

// cutAt is how many body bytes a stream fault lets through: half of a known
// length, else whatever the first read returns (-1).
func cutAt(n int64) int64 {
	if n > 0 {
		return n / 2
	}
	return -1
}

// errDrillCut is the stream fault's read error: httputil.ReverseProxy then
// aborts the response, so the client sees a body cut before its framed end.
var errDrillCut = errors.New("ripcord drill: stream cut")

// cutBody passes part of a body through, then fails.
type cutBody struct {
	rc   io.ReadCloser
	left int64 // bytes still passed; -1: one read's worth
	done bool
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.done || b.left == 0 {
		return 0, errDrillCut
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	} else if n > 0 {
		b.done = true
	}
	if err == io.EOF {
		err = errDrillCut // a body shorter than its cut point is still cut
	}
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }
