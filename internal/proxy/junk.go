package proxy

import (
	"bytes"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Unsolicited bytes. An HTTP/1.1 connection carries one answer per request,
// in order, with nothing to say which request an answer belongs to: bytes a
// version writes after its declared end (a late second response, a body on
// a HEAD) would be read as the answer to the next request sent on that
// connection, usually another user's. So a connection is never reused after
// it received anything unasked: the fast path probes every idle connection
// before reuse and refuses to pool one with bytes after the answer, and the
// Transport of the net/http path drops such connections itself. Either way
// the bytes are counted for the version (Totals.Unsolicited) and logged, at
// most once a second.

// junkFor returns the callback that records unsolicited bytes of a version.
func (s *Switch) junkFor(version string, st *series) func(n int, start []byte) {
	return func(n int, start []byte) {
		st.unsolicited.Add(uint64(n))
		if skipped, ok := s.junkLog.allow(time.Now()); ok {
			s.log.Warn("proxy upstream sent bytes no request asked for; connection closed, not reused",
				"version", version, "bytes", n, "start", statusStart(start), "not_logged_since", skipped)
		}
	}
}

// statusStart is what of the bytes may be logged: the status line when they
// start like an answer (useful to find the bug), nothing otherwise, as they
// may be a user's data.
func statusStart(b []byte) string {
	if !bytes.HasPrefix(b, []byte("HTTP/")) {
		return ""
	}
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(string(b[:min(len(b), 40)]), "?")
}

// rateLimit lets one event through per second and counts the rest.
type rateLimit struct {
	last    atomic.Int64
	skipped atomic.Int64
}

func (r *rateLimit) allow(now time.Time) (skipped int64, ok bool) {
	t, last := now.UnixNano(), r.last.Load()
	if t-last < int64(time.Second) || !r.last.CompareAndSwap(last, t) {
		r.skipped.Add(1)
		return 0, false
	}
	return r.skipped.Swap(0), true
}

// versionPath is the path prefix a version URL puts before every target, as
// it goes on the wire.
func versionPath(u *url.URL) string {
	p := u.EscapedPath()
	return strings.TrimSuffix(p, "/")
}
