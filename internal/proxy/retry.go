package proxy

import (
	"bytes"
	"io"
	"net/http"
)

// retryableMethod reports whether a request with this method may be sent a
// second time (to another version). POST and PATCH only with nonIdempotent;
// CONNECT and unknown methods never.
func retryableMethod(method string, nonIdempotent bool) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost, http.MethodPatch:
		return nonIdempotent
	}
	return false
}

// serveWithRetry implements retry_on_previous: the request goes to v; if v
// fails with a connection error or a 5xx, nothing of that answer has reached
// the client yet, so it is sent once more, with the same buffered body, to
// fb. v's failure is still recorded for v, so detection sees it; the retry's
// outcome is recorded for fb. A body over the limit is not buffered and the
// request gets no retry.
func (s *Switch) serveWithRetry(w http.ResponseWriter, r *http.Request, v, fb *version) {
	body, ok, rest := bufferBody(r, s.opts.Retry.MaxBodyBytes)
	fl := v.stats.begin(s.now())
	defer fl.release()
	if !ok {
		out, nx := s.outRequest(r, v, rest, r.ContentLength)
		resp, err := v.up.roundTrip(out)
		s.finish(w, r, v, &fl, resp, nx, err, 0)
		return
	}
	out, nx := s.outRequest(r, v, bodyReader(body), int64(len(body)))
	resp, err := v.up.roundTrip(out)
	failed := err != nil || resp.StatusCode >= 500
	if !failed || r.Context().Err() != nil || nx.wasCut() {
		s.finish(w, r, v, &fl, resp, nx, err, 0)
		return
	}
	o := outcomeConnErr
	if err == nil {
		o = outcome5xx
		resp.Body.Close()
		fl.headAt(s.now())
	}
	s.complete(v, &fl, o)
	nx.done()
	v.up.done()
	s.log.Debug("proxy retrying on fallback", "version", v.name, "fallback", fb.name, "err", err)
	fl2 := fb.stats.begin(s.now())
	defer fl2.release()
	out, nx = s.outRequest(r, fb, bodyReader(body), int64(len(body)))
	resp, err = fb.up.roundTrip(out)
	s.finish(w, r, fb, &fl2, resp, nx, err, 0)
}

// bufferBody reads r's body whole if it is at most limit bytes. ok is false
// for a larger body; rest then yields the whole body (what was read already,
// then the remainder) for a single attempt.
func bufferBody(r *http.Request, limit int64) (body []byte, ok bool, rest io.ReadCloser) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true, nil
	}
	if r.ContentLength > limit {
		return nil, false, r.Body
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil || n > limit {
		// Too large, or the client's body broke: forward what there is and
		// let the single attempt see the same stream.
		return nil, false, readCloser{io.MultiReader(&buf, errReader{err}, r.Body), r.Body}
	}
	return buf.Bytes(), true, nil
}

func bodyReader(b []byte) io.ReadCloser {
	if len(b) == 0 {
		return http.NoBody
	}
	return io.NopCloser(bytes.NewReader(b))
}

type readCloser struct {
	io.Reader
	io.Closer
}

// errReader returns err once (nil: plain EOF, so MultiReader moves on).
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
