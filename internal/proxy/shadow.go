package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Shadow traffic: while a shadow run is on (StartShadow), the switch sends
// the shadow version a copy of live requests to the active version, and
// its answers go nowhere but into that version's statistics — the same
// windowed ring, cumulative evidence and header signals a live version
// has, so the controller judges it with the same rules before any user
// meets it.
//
// The live request never waits for its copy. The decision to copy is made
// when the request starts (method, body size, share, and a free place in
// the backlog, reserved with one atomic add: a full backlog drops the copy
// there and counts it); the copy is queued when the live answer is done,
// with the live status and (when a body comparison is configured) the
// start of the live body, captured as it is relayed. A small request body
// of a copied request is read whole before it is forwarded, as for a
// retry; nothing else of the live request is buffered. A fixed set of
// workers sends the copies over the shadow version's own connections.

// ShadowHeader marks every copy the switch sends ("1"), so a backend can
// tell copies from users' requests (and skip side effects). A client's own
// X-Ripcord-Shadow header is never forwarded: a live request cannot pass
// for a copy.
const ShadowHeader = "X-Ripcord-Shadow"

// Shadow configures copies of live traffic (StartShadow).
type Shadow struct {
	// Percent of eligible requests copied, 1–100. Default 100.
	Percent int
	// Methods copied. Default GET, HEAD, OPTIONS.
	Methods []string
	// MaxBody is the largest request body copied; a larger or chunked
	// (unknown length) body is not. Default 64 KiB; negative: none.
	MaxBody int64
	// Backlog is how many copies may wait for a worker; beyond it they are
	// dropped and counted. Default 256.
	Backlog int
	// Workers send copies concurrently. Default 8.
	Workers int
	// CompareStatus counts a copy whose status differs from the live
	// answer's as a mismatch.
	CompareStatus bool
	// CompareBody, when set, compares the live and shadow bodies and
	// reports whether they agree; a pair where either body is longer than
	// CaptureBytes is compared by status only. The JSON field comparison lives with the caller,
	// so that the switch imports no JSON path package.
	CompareBody func(live, shadow []byte) bool
	// CaptureBytes bounds how much of each answer CompareBody sees; a body
	// longer than that is not compared. Default 64 KiB.
	CaptureBytes int
}

func (o Shadow) withDefaults() Shadow {
	if o.Percent <= 0 || o.Percent > 100 {
		o.Percent = 100
	}
	if len(o.Methods) == 0 {
		o.Methods = []string{"GET", "HEAD", "OPTIONS"}
	}
	switch {
	case o.MaxBody == 0:
		o.MaxBody = 64 << 10
	case o.MaxBody < 0:
		o.MaxBody = 0
	}
	if o.Backlog <= 0 {
		o.Backlog = 256
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.CaptureBytes <= 0 {
		o.CaptureBytes = 64 << 10
	}
	return o
}

// ShadowStats counts what a shadow run did with live requests.
type ShadowStats struct {
	Version, Stable string
	Since           time.Time
	// Mirrored copies were queued; Sent reached the version (answered or
	// failed); Dropped found the backlog full; TooLarge had a body over
	// MaxBody (or of unknown length); Skipped had a method not copied.
	Mirrored, Sent, Dropped, TooLarge, Skipped int64
	// Compared copies were checked against the live answer; Mismatched
	// disagreed (status or body fields).
	Compared, Mismatched int64
}

// shadowRun is one shadow of a version against the active one.
type shadowRun struct {
	opts    Shadow
	v       *version // the shadow version
	stable  *version // the active version whose requests are copied
	since   time.Time
	q       chan *shadowJob
	pending atomic.Int64 // reserved places in q
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mirrored, sent, dropped, tooLarge, skipped atomic.Int64
	compared, mismatched                       atomic.Int64
}

// shadowJob is one copy: everything about the request, copied out of the
// live request's buffers, and the live answer to compare with.
type shadowJob struct {
	method, target, host string
	header               http.Header // nil: build it from raw
	raw                  []byte      // fast path: header lines as sent upstream
	hasAuth              bool        // raw holds the client's Authorization
	body                 []byte
	liveStatus           int // 0: the live attempt failed (nothing to compare)
	liveBody             []byte
	liveCut              bool // the live body was longer than CaptureBytes
}

// StartShadow starts copying live requests to version (which must be
// set), making stable the active version first if it is not. The shadow
// version's counters start a new generation, so its evidence holds only
// copies. A shadow already running for another version is stopped.
func (s *Switch) StartShadow(stable, version string) error {
	if stable == version {
		return fmt.Errorf("proxy: shadow %q is the stable version", version)
	}
	vs := *s.versions.Load()
	sv, v := vs[stable], vs[version]
	if sv == nil || v == nil {
		return fmt.Errorf("proxy: shadow %s/%s: %w", stable, version, ErrUnknownVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.shadow.Load(); old != nil && old.v == v && old.stable == sv {
		return nil // already on (a restart re-running its step)
	}
	if a := s.active.Load(); a != sv {
		s.active.Store(sv)
		if a == nil || a.stats != sv.stats {
			s.restart(sv)
		}
		sv.up.undrain()
		if a != nil {
			a.up.drain()
		}
	}
	if sp := s.split.Swap(nil); sp != nil && sp.canary != sv {
		sp.canary.up.drain()
	}
	s.stopShadowLocked(v)
	run := s.runShadowLocked(sv, v)
	s.log.Info("proxy shadow started", "stable", stable, "shadow", version, "percent", run.opts.Percent, "methods", run.opts.Methods)
	return nil
}

// runShadowLocked starts copying sv's live requests to v (a new counter
// generation, so v's evidence holds only copies) and publishes the run.
// Called with s.mu held and no run in progress.
func (s *Switch) runShadowLocked(sv, v *version) *shadowRun {
	o := s.opts.Shadow.withDefaults()
	run := &shadowRun{opts: o, v: v, stable: sv, since: s.now(), q: make(chan *shadowJob, o.Backlog)}
	run.ctx, run.cancel = context.WithCancel(context.Background())
	s.restart(v)
	v.up.undrain()
	for range o.Workers {
		run.wg.Add(1)
		go s.shadowWorker(run)
	}
	s.shadow.Store(run)
	return run
}

// StopShadow ends the shadow run, if any: no more copies are made, copies
// still queued are dropped and those in flight are cancelled. The shadow
// version is drained unless it is live.
func (s *Switch) StopShadow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopShadowLocked(nil)
}

// stopShadowLocked ends the run; keep is a version not to drain (about to
// be live). Called with s.mu held.
func (s *Switch) stopShadowLocked(keep *version) {
	run := s.shadow.Swap(nil)
	if run == nil {
		return
	}
	run.cancel()
	if v := run.v; v != keep && v != s.active.Load() {
		if sp := s.split.Load(); sp == nil || sp.canary != v {
			v.up.drain()
		}
	}
	s.log.Info("proxy shadow stopped", "shadow", run.v.name, "mirrored", run.mirrored.Load(), "dropped", run.dropped.Load())
}

// Shadowing returns the counts of the shadow run in progress; ok is false
// when there is none.
func (s *Switch) Shadowing() (st ShadowStats, ok bool) {
	run := s.shadow.Load()
	if run == nil {
		return ShadowStats{}, false
	}
	return ShadowStats{Version: run.v.name, Stable: run.stable.name, Since: run.since,
		Mirrored: run.mirrored.Load(), Sent: run.sent.Load(), Dropped: run.dropped.Load(), TooLarge: run.tooLarge.Load(),
		Skipped: run.skipped.Load(), Compared: run.compared.Load(), Mismatched: run.mismatched.Load()}, true
}

// ShadowCounts is Shadowing's counts by name, for status; nil when no
// shadow runs.
func (s *Switch) ShadowCounts() map[string]int64 {
	st, ok := s.Shadowing()
	if !ok {
		return nil
	}
	return map[string]int64{"mirrored": st.Mirrored, "sent": st.Sent, "dropped": st.Dropped, "too_large": st.TooLarge,
		"skipped": st.Skipped, "compared": st.Compared, "mismatched": st.Mismatched}
}

// shadowBegin decides, as a request to v starts, whether it is copied: v
// must be the run's stable version, the method one copied, the body known
// and small, the share drawn, and a place free in the backlog (reserved
// here; a full backlog drops the copy and counts it). nil: not copied.
func (s *Switch) shadowBegin(v *version, method []byte, length int64, chunked bool) *shadowRun {
	run := s.shadow.Load()
	if run == nil || run.stable != v {
		return nil
	}
	if !methodIn(run.opts.Methods, method) {
		run.skipped.Add(1)
		return nil
	}
	if chunked || length > run.opts.MaxBody {
		run.tooLarge.Add(1)
		return nil
	}
	if run.opts.Percent < 100 && rand.IntN(100) >= run.opts.Percent {
		return nil
	}
	if run.pending.Add(1) > int64(run.opts.Backlog) {
		run.pending.Add(-1)
		run.dropped.Add(1)
		return nil
	}
	return run
}

func methodIn(list []string, m []byte) bool {
	for _, x := range list {
		if string(m) == x {
			return true
		}
	}
	return false
}

// capturing reports whether live bodies are kept for comparison.
func (run *shadowRun) capturing() bool { return run != nil && run.opts.CompareBody != nil }

// submit queues a copy whose place was reserved by shadowBegin. It never
// blocks: the place is there. A run stopped meanwhile drops it.
func (run *shadowRun) submit(j *shadowJob) {
	if run.ctx.Err() != nil {
		run.pending.Add(-1)
		return
	}
	run.mirrored.Add(1)
	run.q <- j
}

// release gives back a reserved place whose copy was not made (the live
// request's body broke).
func (run *shadowRun) release() { run.pending.Add(-1) }

func (s *Switch) shadowWorker(run *shadowRun) {
	defer run.wg.Done()
	for {
		select {
		case <-run.ctx.Done():
			return
		case j := <-run.q:
			run.pending.Add(-1)
			s.sendCopy(run, j)
		}
	}
}

// sendCopy sends one copy to the shadow version and records its answer
// for the version, as a live answer is recorded: 5xx and connection
// failures are errors, latency is until the body's end (its head for a
// stream), header signals are read; then it compares with the live answer.
func (s *Switch) sendCopy(run *shadowRun, j *shadowJob) {
	if j.raw != nil {
		s.sendCopyH1(run, j)
		return
	}
	v := run.v
	req, err := s.copyRequest(run.ctx, v, j)
	if err != nil {
		return
	}
	fl := v.stats.begin(s.now())
	defer fl.release()
	resp, err := v.up.roundTrip(req)
	if err != nil {
		if run.ctx.Err() == nil {
			run.sent.Add(1)
			s.complete(v, &fl, outcomeConnErr)
		}
		return
	}
	defer resp.Body.Close()
	fl.headAt(s.now())
	sse := isEventStream([]byte(resp.Header.Get("Content-Type")))
	fl.stream = resp.ContentLength < 0 || sse
	scan := sseScan{noScan: !sse}
	if run.capturing() {
		scan.capLimit = run.opts.CaptureBytes
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	var rerr error
	for {
		n, err := resp.Body.Read(*bp)
		if fl.first.IsZero() && (n > 0 || err == io.EOF) {
			fl.first = s.now()
		}
		scan.feed((*bp)[:n])
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	if run.ctx.Err() != nil {
		return // stopped: a cut copy says nothing about the version
	}
	run.sent.Add(1)
	o := outcomeConnErr
	if rerr == nil {
		o = answered(resp.StatusCode, scan.failed)
	}
	s.complete(v, &fl, o)
	if len(s.headers) > 0 && v.sig != nil {
		if vals, have := s.signalsOf(resp.Header.Get); vals != nil {
			v.sig.record(s.now(), vals, have)
		}
	}
	if rerr == nil {
		s.compareCopy(run, j, resp.StatusCode, scan.captured, scan.capCut)
	}
}

// compareCopy counts a copy's agreement with the live answer, when a
// comparison is configured and both answers are there to compare (a copy
// that failed is the version's error already, not a second count here).
func (s *Switch) compareCopy(run *shadowRun, j *shadowJob, status int, body []byte, cut bool) {
	o := run.opts
	if (!o.CompareStatus && o.CompareBody == nil) || j.liveStatus == 0 || status == 0 {
		return
	}
	same := true
	if o.CompareStatus && status != j.liveStatus {
		same = false
	}
	if same && o.CompareBody != nil && !cut && !j.liveCut {
		same = o.CompareBody(j.liveBody, body)
	}
	run.compared.Add(1)
	g := run.v.stats.cur.Load()
	g.cmpN.Add(1)
	if !same {
		run.mismatched.Add(1)
		g.cmpBad.Add(1)
		s.poke(run.v)
	}
}

// copyRequest is the copy as sent to the shadow version: the live
// request's method, target, headers (as forwarded) and body, with the
// version URL's path, query and credentials, and the shadow mark. Only
// copies made on the net/http path come here (sendCopyH1 sends the rest).
func (s *Switch) copyRequest(ctx context.Context, v *version, j *shadowJob) (*http.Request, error) {
	h, host := j.header, j.host
	h[ShadowHeader] = []string{"1"}
	if v.auth != "" && h.Get("Authorization") == "" {
		h["Authorization"] = []string{v.auth}
	}
	target := j.target
	if v.path != "" {
		target = v.path + target
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = v.target.Scheme, v.target.Host
	u.RawQuery = joinQuery(v.query, u.RawQuery)
	req := &http.Request{Method: j.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: host, ContentLength: int64(len(j.body))}
	if len(j.body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(j.body))
	}
	return req.WithContext(ctx), nil
}

// shadowHTTP is ServeHTTP's part of a copy: it decides at the start and,
// for a copied request with a body, reads the (small) body whole so both
// versions get it. ok false: the client's body broke.
func (s *Switch) shadowHTTP(v *version, r *http.Request) (run *shadowRun, j *shadowJob, ok bool) {
	hasBody := r.Body != nil && r.Body != http.NoBody
	length := r.ContentLength
	if !hasBody {
		length = 0
	}
	run = s.shadowBegin(v, []byte(r.Method), length, hasBody && length < 0)
	if run == nil {
		return nil, nil, true
	}
	j = &shadowJob{method: r.Method, target: r.URL.RequestURI(), host: r.Host,
		header: outHeader(r, s.opts.trustedAddr(r.RemoteAddr)).Clone()}
	if hasBody && length > 0 {
		j.body = make([]byte, length)
		if _, err := io.ReadFull(r.Body, j.body); err != nil {
			run.release()
			return nil, nil, false
		}
		r.Body = io.NopCloser(bytes.NewReader(j.body))
	}
	return run, j, true
}

// shadowJob is the fast path's part: the copy of the request line, the
// header lines as sent upstream and the body kept in c.body.
func (c *h1conn) shadowJob(rq *reqHead, buffered bool) *shadowJob {
	j := &shadowJob{method: string(rq.method), target: string(rq.target), raw: slices.Clone(c.hdr), hasAuth: c.hasAuth}
	if buffered && len(c.body) > 0 {
		j.body = slices.Clone(c.body)
	}
	return j
}

// IsShadowCopy reports whether a request carries the switch's mark (for
// backends and tests written in Go).
func IsShadowCopy(h http.Header) bool { return strings.TrimSpace(h.Get(ShadowHeader)) == "1" }
