package proxy

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ServeHTTP forwards r to the active version. The version is read once, at
// the start: a switch affects the next request, never this one.
func (s *Switch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := s.routeHTTP(r)
	if v == nil {
		http.Error(w, "ripcord: no active version", http.StatusServiceUnavailable)
		return
	}
	if isUpgrade(r) {
		s.serveUpgrade(w, r, v)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		pb := &progressBody{ReadCloser: r.Body, rc: http.NewResponseController(w), d: s.opts.BodyTimeout}
		defer pb.stop()
		r.Body = pb
	}
	if s.opts.Retry.Enabled {
		if fb := s.fallbackFor(v); fb != nil && retryableMethod(r.Method, s.opts.Retry.NonIdempotent) {
			s.serveWithRetry(w, r, v, fb)
			return
		}
	}
	run, job, ok := s.shadowHTTP(v, r)
	if !ok {
		return // the client's body broke
	}
	var capture, status int
	var sc *sseScan
	if run != nil {
		if run.capturing() {
			capture = run.opts.CaptureBytes
		}
		defer func() { // also when finish panics to cut the answer: the place is returned
			if sc != nil {
				job.liveStatus, job.liveBody, job.liveCut = status, sc.captured, sc.capCut
			}
			run.submit(job)
		}()
	}
	fl := v.stats.begin(s.now())
	defer fl.release()
	out, nx := s.outRequest(r, v, r.Body, r.ContentLength)
	resp, err := v.up.roundTrip(out)
	status, sc = s.finish(w, r, v, &fl, resp, nx, err, capture)
}

// outRequest is the request sent to version v with the given body, and the
// exchange that tracks its connection.
func (s *Switch) outRequest(r *http.Request, v *version, body io.ReadCloser, length int64) (*http.Request, *netExchange) {
	u := &url.URL{
		Scheme:     v.target.Scheme,
		Host:       v.target.Host,
		Path:       r.URL.Path,
		RawPath:    r.URL.RawPath,
		RawQuery:   joinQuery(v.query, r.URL.RawQuery),
		ForceQuery: r.URL.ForceQuery,
	}
	if v.path != "" {
		u.Path, u.RawPath = joinURLPath(v.target, r.URL)
	}
	if body == http.NoBody {
		body = nil
	}
	out := &http.Request{
		Method:        r.Method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        outHeader(r, s.opts.trustedAddr(r.RemoteAddr)),
		Body:          body,
		ContentLength: length,
		Host:          r.Host,
	}
	if body == nil {
		out.ContentLength = 0
	}
	if v.auth != "" && out.Header.Get("Authorization") == "" {
		out.Header["Authorization"] = []string{v.auth}
	}
	nx, ctx := newNetExchange(r.Context(), false)
	return out.WithContext(ctx), nx
}

// joinURLPath puts the version's path before the request's, keeping the
// request's escaping (%2F stays %2F), as the fast path does.
func joinURLPath(a, b *url.URL) (path, rawPath string) {
	if a.RawPath == "" && b.RawPath == "" {
		return singleJoin(a.Path, b.Path), ""
	}
	ep, rp := a.EscapedPath(), b.EscapedPath()
	return singleJoin(a.Path, b.Path), singleJoin(ep, rp)
}

func singleJoin(a, b string) string {
	switch as, bs := strings.HasSuffix(a, "/"), strings.HasPrefix(b, "/"); {
	case as && bs:
		return a + b[1:]
	case !as && !bs:
		return a + "/" + b
	}
	return a + b
}

// finish relays the upstream answer (or failure) to the client and records
// the outcome for version v (fl: the request's evidence). The recorded
// latency is the time until the response body was completely relayed, or
// until its head for a stream (unknown length or Server-Sent Events),
// which is judged by its time to first byte and its errors instead: a
// healthy 30 s token stream is not slow. Failures caused by the client
// going away are not the version's fault and are not recorded at all.
//
// capture > 0 keeps that much of the body for a shadow comparison; status
// and sc are the answer relayed whole (sc nil otherwise).
func (s *Switch) finish(w http.ResponseWriter, r *http.Request, v *version, fl *flight, resp *http.Response, nx *netExchange,
	err error, capture int) (status int, sc *sseScan) {
	defer v.up.done()
	defer nx.done()
	if err != nil {
		if r.Context().Err() != nil || nx.wasCut() || clientBroke(r) {
			return 0, nil // client gone or stalled, or a drain cut it: not the version's fault
		}
		s.complete(v, fl, outcomeConnErr)
		s.log.Debug("proxy upstream failed", "version", v.name, "err", err)
		if isTimeout(err) {
			http.Error(w, "ripcord: upstream timed out", http.StatusGatewayTimeout)
			return 0, nil
		}
		http.Error(w, "ripcord: upstream unavailable", http.StatusBadGateway)
		return 0, nil
	}
	defer resp.Body.Close()
	fl.headAt(s.now())
	if resp.StatusCode == http.StatusSwitchingProtocols { // never asked for (upgrades go to serveUpgrade)
		s.complete(v, fl, outcomeConnErr)
		http.Error(w, "ripcord: upstream unavailable", http.StatusBadGateway)
		return 0, nil
	}
	o := outcomeOK
	if resp.StatusCode >= 500 {
		o = outcome5xx
	}
	sse := isEventStream([]byte(resp.Header.Get("Content-Type")))
	fl.stream = resp.ContentLength < 0 || sse
	var scan sseScan
	if sse {
		sc = &scan
	}
	if capture > 0 {
		scan.capLimit, scan.noScan, sc = capture, !sse, &scan
	}
	readErr, writeErr := s.relay(w, resp, fl, sc)
	switch {
	case writeErr != nil || (readErr != nil && (r.Context().Err() != nil || clientBroke(r))):
		return 0, nil // client gone mid-body
	case readErr != nil && nx.wasCut():
		panic(http.ErrAbortHandler) // a drain ended it: truncated, not the version's fault
	case readErr != nil:
		s.complete(v, fl, outcomeConnErr)
		s.log.Debug("proxy upstream body failed", "version", v.name, "err", readErr)
		panic(http.ErrAbortHandler) // tell the client the body is truncated
	}
	if o == outcomeOK && sse && scan.failed {
		o = outcomeStreamErr
	}
	s.complete(v, fl, o)
	if len(s.headers) > 0 && v.sig != nil {
		if vals, have := s.signalsOf(resp.Header.Get); vals != nil {
			v.sig.record(s.now(), vals, have)
		}
	}
	if sc == nil {
		sc = &scan
	}
	return resp.StatusCode, sc
}

// relay writes resp's header and body to w, flushing as the upstream writes
// when the response is a stream (unknown length or Server-Sent Events). It
// notes the first body byte's arrival in fl, and shows the body to sc if
// set.
func (s *Switch) relay(w http.ResponseWriter, resp *http.Response, fl *flight, sc *sseScan) (readErr, writeErr error) {
	h := w.Header()
	copyResponseHeader(h, resp.Header)
	announceTrailers(h, resp.Trailer)
	w.WriteHeader(resp.StatusCode)
	stream := resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	readErr, writeErr = s.copyBody(w, resp.Body, stream, fl, sc)
	if readErr == nil && writeErr == nil && len(resp.Trailer) > 0 {
		for k, vv := range resp.Trailer {
			h[http.TrailerPrefix+k] = vv
		}
	}
	return readErr, writeErr
}

func announceTrailers(h http.Header, t http.Header) {
	if len(t) == 0 {
		return
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	h["Trailer"] = []string{strings.Join(keys, ", ")}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody copies src to w, flushing after every write if stream is set;
// fl.first is when the first byte (or the end) came.
func (s *Switch) copyBody(w http.ResponseWriter, src io.Reader, stream bool, fl *flight, sc *sseScan) (readErr, writeErr error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var flusher http.Flusher
	if stream {
		flusher, _ = w.(http.Flusher)
		if flusher != nil {
			flusher.Flush() // headers out now: the client sees the stream start
		}
	}
	for {
		n, err := src.Read(buf)
		if fl.first.IsZero() && (n > 0 || err == io.EOF) {
			fl.first = s.now()
		}
		if n > 0 {
			if sc != nil {
				sc.feed(buf[:n])
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}

// progressBody puts every read of a request body under Options.BodyTimeout:
// a client that stalls mid-body is dropped instead of holding an upstream
// connection. The deadline is lifted at the body's end, so it never bounds
// the answer (net/http's background read would cancel the request).
type progressBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	d       time.Duration
	mu      sync.Mutex // stop may race a Transport goroutine still reading
	stopped bool
	broke   atomic.Bool // a read failed: the client's body, not the version
}

// clientBroke reports that r's body failed to arrive (stalled or cut).
func clientBroke(r *http.Request) bool {
	pb, ok := r.Body.(*progressBody)
	return ok && pb.broke.Load()
}

func (b *progressBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if !b.stopped {
		b.rc.SetReadDeadline(time.Now().Add(b.d))
	}
	b.mu.Unlock()
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		if err != io.EOF {
			b.broke.Store(true)
		}
		b.clear()
	}
	return n, err
}

func (b *progressBody) clear() {
	b.mu.Lock()
	if !b.stopped {
		b.rc.SetReadDeadline(time.Time{})
	}
	b.mu.Unlock()
}

// stop lifts the deadline for good when the handler returns: the
// ResponseController may not be used after that.
func (b *progressBody) stop() {
	b.clear()
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
}
