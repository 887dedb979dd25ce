package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a backend that remembers the bodies it received and answers
// with a fixed status.
type recorder struct {
	*backend
	mu     sync.Mutex
	bodies []string
}

func newRecorder(t *testing.T, status int, name string) *recorder {
	rec := &recorder{}
	rec.backend = newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.bodies = append(rec.bodies, string(b))
		rec.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, name)
	})
	return rec
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

func retryOpts(nonIdempotent bool, maxBody int64) Options {
	return Options{Retry: Retry{Enabled: true, NonIdempotent: nonIdempotent, MaxBodyBytes: maxBody}}
}

// do sends method with body (chunked if chunked is set) and returns status
// and response body.
func do(t *testing.T, c *http.Client, base, method, body string, chunked bool) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // hides the length: sent chunked
		}
	}
	req, _ := http.NewRequest(method, base+"/", rd)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRetryGetOn5xxAndRefused(t *testing.T) { forEachProto(t, testRetryGetOn5xxAndRefused) }

func testRetryGetOn5xxAndRefused(t *testing.T, c *http.Client) {
	bad := newRecorder(t, 503, "bad")
	good := newRecorder(t, 200, "good")
	sw := newTestSwitch(t, retryOpts(false, 0), "bad", bad.URL, "good", good.URL, "dead", refusedURL(t))
	sw.SetFallback("good")
	base := serve(t, sw)

	if code, body := do(t, c, base, "GET", "", false); code != 200 || body != "good" {
		t.Fatalf("GET on 5xx: %d %q, want the fallback's answer", code, body)
	}
	if s := stats(sw, "bad"); s.Requests != 1 || s.Errors != 1 || s.Status5xx != 1 {
		t.Fatalf("failing version stats %+v: the failure must still count", s)
	}
	if s := stats(sw, "good"); s.Requests != 1 || s.Errors != 0 {
		t.Fatalf("fallback stats %+v", s)
	}

	sw.Activate("dead")
	if code, body := do(t, c, base, "PUT", "payload", false); code != 200 || body != "good" {
		t.Fatalf("PUT on refused: %d %q", code, body)
	}
	if s := stats(sw, "dead"); s.Requests != 1 || s.Errors != 1 {
		t.Fatalf("dead stats %+v", s)
	}
	if got := good.got(); len(got) != 2 || got[1] != "payload" {
		t.Fatalf("fallback bodies %q", got)
	}
}

func TestRetryPostOnlyWhenAllowed(t *testing.T) { forEachProto(t, testRetryPostOnlyWhenAllowed) }

func testRetryPostOnlyWhenAllowed(t *testing.T, c *http.Client) {
	for _, allow := range []bool{false, true} {
		bad := newRecorder(t, 500, "bad")
		good := newRecorder(t, 200, "good")
		sw := newTestSwitch(t, retryOpts(allow, 0), "bad", bad.URL, "good", good.URL)
		sw.SetFallback("good")
		base := serve(t, sw)
		for _, chunked := range []bool{false, true} {
			code, _ := do(t, c, base, "POST", `{"prompt":"hi"}`, chunked)
			if want := map[bool]int{false: 500, true: 200}[allow]; code != want {
				t.Fatalf("POST non_idempotent=%v chunked=%v: status %d, want %d", allow, chunked, code, want)
			}
		}
		if n := len(good.got()); (n == 2) != allow {
			t.Fatalf("non_idempotent=%v: fallback received %d POSTs", allow, n)
		}
		if allow && good.got()[1] != `{"prompt":"hi"}` {
			t.Fatalf("chunked body not resent intact: %q", good.got())
		}
		if len(bad.got()) != 2 {
			t.Fatalf("bad received %d", len(bad.got()))
		}
	}
}

func TestRetryNeverTwiceToSameVersion(t *testing.T) {
	forEachProto(t, testRetryNeverTwiceToSameVersion)
}

func testRetryNeverTwiceToSameVersion(t *testing.T, c *http.Client) {
	bad := newRecorder(t, 500, "bad")
	worse := newRecorder(t, 502, "worse")
	sw := newTestSwitch(t, retryOpts(true, 0), "bad", bad.URL, "worse", worse.URL)
	base := serve(t, sw)

	sw.SetFallback("bad") // the active version itself: no retry
	if code, _ := do(t, c, base, "POST", "b1", false); code != 500 || len(bad.got()) != 1 {
		t.Fatalf("fallback = active: status %d, bad saw %q", code, bad.got())
	}
	sw.SetFallback("worse") // fails too: its answer is final, no third try
	if code, body := do(t, c, base, "POST", "b2", false); code != 502 || body != "worse" {
		t.Fatalf("both failing: %d %q", code, body)
	}
	if b, w := bad.got(), worse.got(); len(b) != 2 || len(w) != 1 || b[1] != "b2" || w[0] != "b2" {
		t.Fatalf("bodies bad=%q worse=%q: each version must see each body once", b, w)
	}
	if s := stats(sw, "worse"); s.Errors != 1 {
		t.Fatalf("fallback failure not recorded: %+v", s)
	}
}

func TestRetryNotAfterBytesSent(t *testing.T) { forEachProto(t, testRetryNotAfterBytesSent) }

func testRetryNotAfterBytesSent(t *testing.T, c *http.Client) {
	broken := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close() // dies mid-stream
	})
	good := newRecorder(t, 200, "good")
	sw := newTestSwitch(t, retryOpts(true, 0), "broken", broken.URL, "good", good.URL)
	sw.SetFallback("good")
	base := serve(t, sw)

	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "data: first") || strings.Contains(string(b), "good") {
		t.Fatalf("client got %q: must be the broken stream, not a retry", b)
	}
	if n := len(good.got()); n != 0 {
		t.Fatalf("fallback received %d requests after bytes were sent", n)
	}
	waitFor(t, "broken stream recorded", func() bool { return stats(sw, "broken").Errors == 1 })
}

func TestRetryBodyOverLimit(t *testing.T) { forEachProto(t, testRetryBodyOverLimit) }

func testRetryBodyOverLimit(t *testing.T, c *http.Client) {
	bad := newRecorder(t, 500, "bad")
	good := newRecorder(t, 200, "good")
	sw := newTestSwitch(t, retryOpts(true, 16), "bad", bad.URL, "good", good.URL)
	sw.SetFallback("good")
	base := serve(t, sw)

	big := strings.Repeat("x", 100)
	for _, chunked := range []bool{false, true} {
		if code, _ := do(t, c, base, "PUT", big, chunked); code != 500 {
			t.Fatalf("chunked=%v: over-limit body retried (status %d)", chunked, code)
		}
	}
	if b := bad.got(); len(b) != 2 || b[0] != big || b[1] != big {
		t.Fatalf("over-limit bodies not forwarded whole: %d", len(b))
	}
	if len(good.got()) != 0 {
		t.Fatal("fallback received an over-limit body")
	}
	if code, _ := do(t, c, base, "PUT", "small", true); code != 200 {
		t.Fatalf("small body not retried: %d", code)
	}
}

func TestRetryDisabled(t *testing.T) { forEachProto(t, testRetryDisabled) }

func testRetryDisabled(t *testing.T, c *http.Client) {
	bad := newRecorder(t, 500, "bad")
	good := newRecorder(t, 200, "good")
	sw := newTestSwitch(t, Options{}, "bad", bad.URL, "good", good.URL)
	sw.SetFallback("good")
	base := serve(t, sw)
	if code, _ := do(t, c, base, "GET", "", false); code != 500 || len(good.got()) != 0 {
		t.Fatalf("retry without opt-in: %d", code)
	}
}
