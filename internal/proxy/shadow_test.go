package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// copies records what a backend received, copies and live requests apart.
type copies struct {
	mu           sync.Mutex
	copied, live []string // "METHOD target body"
}

func (c *copies) handler(status int, answer func(r *http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		rec := fmt.Sprintf("%s %s %s", r.Method, r.URL.RequestURI(), b)
		if IsShadowCopy(r.Header) {
			c.copied = append(c.copied, rec)
		} else {
			c.live = append(c.live, rec)
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer(r))
	}
}

func (c *copies) counts() (copied, live int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.copied), len(c.live)
}

func (c *copies) has(rec string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.copied {
		if x == rec {
			return true
		}
	}
	return false
}

func constant(s string) func(*http.Request) string { return func(*http.Request) string { return s } }

// TestShadowCopiesNeverReachUsers: every live GET is copied to the shadow
// version, marked; its 500s reach no user and count as its errors; the
// stable version never sees a copy, nor a client's forged mark.
func TestShadowCopiesNeverReachUsers(t *testing.T) {
	forEachProto(t, func(t *testing.T, c *http.Client) {
		var st, sh copies
		stable := newBackend(t, st.handler(200, constant(`{"v":"v1"}`)))
		bad := newBackend(t, sh.handler(500, constant(`{"v":"v2"}`)))
		sw := newTestSwitch(t, Options{}, "v1", stable.URL, "v2", bad.URL)
		base := serve(t, sw)
		if err := sw.StartShadow("v1", "v2"); err != nil {
			t.Fatal(err)
		}
		const n = 40
		for i := range n {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/chat?i=%d", base, i), nil)
			req.Header.Set(ShadowHeader, "1") // a client pretending to be a copy
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != `{"v":"v1"}` {
				t.Fatalf("user got %d %q, want stable's answer", resp.StatusCode, b)
			}
		}
		waitFor(t, "copies at the shadow", func() bool { n2, _ := sh.counts(); return n2 == n })
		if stCopied, stLive := st.counts(); stCopied != 0 || stLive != n {
			t.Fatalf("stable saw %d copies and %d live requests, want 0 and %d", stCopied, stLive, n)
		}
		if _, shLive := sh.counts(); shLive != 0 {
			t.Fatalf("the shadow version served %d live requests", shLive)
		}
		if !sh.has("GET /chat?i=7 ") {
			t.Fatalf("copy target lost: %v", sh.copied)
		}
		waitFor(t, "shadow stats", func() bool { return stats(sw, "v2").Requests == n })
		if s := stats(sw, "v2"); s.Errors != n || s.Cumulative.Errors != n {
			t.Fatalf("shadow stats %v, cumulative %+v: want %d errors", s, s.Cumulative, n)
		}
		if s := stats(sw, "v1"); s.Errors != 0 || s.Requests != n {
			t.Fatalf("stable stats %v", s)
		}
		got, ok := sw.Shadowing()
		if !ok || got.Mirrored != n || got.Sent != n || got.Dropped != 0 {
			t.Fatalf("shadow counts %+v", got)
		}
		sw.StopShadow()
		if _, ok := sw.Shadowing(); ok {
			t.Fatal("shadow still on after StopShadow")
		}
	})
}

// TestShadowSkipsUnsafeAndLargeBodies: a POST is not copied unless listed;
// a listed one with a body over MaxBody is not copied either (the live
// request still gets its body whole); a small one is copied with its body.
// Copies are sent in order by one worker, so the copy of a later request
// arriving proves an earlier one was not copied.
func TestShadowSkipsUnsafeAndLargeBodies(t *testing.T) {
	forEachProto(t, func(t *testing.T, c *http.Client) {
		for _, listed := range []bool{false, true} {
			var st, sh copies
			stable := newBackend(t, st.handler(200, constant("ok")))
			shadow := newBackend(t, sh.handler(200, constant("ok")))
			o := Shadow{Workers: 1, MaxBody: 16}
			if listed {
				o.Methods = []string{"GET", "POST"}
			}
			sw := newTestSwitch(t, Options{Shadow: o}, "v1", stable.URL, "v2", shadow.URL)
			base := serve(t, sw)
			if err := sw.StartShadow("v1", "v2"); err != nil {
				t.Fatal(err)
			}
			post := func(body string) {
				resp, err := c.Post(base+"/orders", "text/plain", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			large := strings.Repeat("x", 100)
			post(large)
			post("small")
			if _, err := c.Get(base + "/after"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the GET's copy", func() bool { return sh.has("GET /after ") })
			got, _ := sw.Shadowing()
			if listed {
				if sh.has("POST /orders "+large) || !sh.has("POST /orders small") || got.TooLarge != 1 {
					t.Fatalf("listed POST: copies %v, counts %+v: want the small body only", sh.copied, got)
				}
			} else if n, _ := sh.counts(); n != 1 || got.Skipped != 2 {
				t.Fatalf("unlisted POST: copies %v, counts %+v: want only the GET", sh.copied, got)
			}
			st.mu.Lock()
			if len(st.live) != 3 || st.live[0] != "POST /orders "+large {
				t.Errorf("stable got %v: the live body must arrive whole", st.live)
			}
			st.mu.Unlock()
		}
	})
}

// TestShadowBacklogFullDrops: with the shadow version stuck, copies fill
// the backlog and the rest are dropped and counted, while live requests
// are answered as before.
func TestShadowBacklogFullDrops(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	stuck := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	})
	stable := newBackend(t, named("v1"))
	sw := newTestSwitch(t, Options{Shadow: Shadow{Workers: 1, Backlog: 2}}, "v1", stable.URL, "v2", stuck.URL)
	base := serve(t, sw)
	if err := sw.StartShadow("v1", "v2"); err != nil {
		t.Fatal(err)
	}
	defer close(release)
	c := &http.Client{}
	if code, body := get(t, c, base+"/1"); code != 200 || body != "v1" {
		t.Fatalf("live: %d %q", code, body)
	}
	<-arrived // the one worker is now held by the stuck version
	for i := range 5 {
		if code, body := get(t, c, fmt.Sprintf("%s/%d", base, i+2)); code != 200 || body != "v1" {
			t.Fatalf("live request %d: %d %q", i+2, code, body)
		}
	}
	got, _ := sw.Shadowing()
	if got.Mirrored != 3 || got.Dropped != 3 {
		t.Fatalf("counts %+v: want 3 mirrored (1 sent, 2 waiting) and 3 dropped", got)
	}
}

// TestShadowCompare: status and a JSON field are compared with the live
// answer to the same request; disagreements are counted as mismatches in
// the shadow version's evidence.
func TestShadowCompare(t *testing.T) {
	forEachProto(t, func(t *testing.T, c *http.Client) {
		var st, sh copies
		stable := newBackend(t, st.handler(200, constant(`{"choices":[{"finish_reason":"stop"}]}`)))
		shadow := newBackend(t, sh.handler(200, func(r *http.Request) string {
			if strings.HasSuffix(r.URL.Path, "/odd") {
				return `{"choices":[{"finish_reason":"length"}]}`
			}
			return `{"choices":[{"finish_reason":"stop"}],"extra":1}`
		}))
		field := func(b []byte) any {
			var doc struct {
				Choices []struct {
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
			}
			if json.Unmarshal(b, &doc) != nil || len(doc.Choices) == 0 {
				return nil
			}
			return doc.Choices[0].FinishReason
		}
		o := Shadow{CompareStatus: true, CompareBody: func(live, shadow []byte) bool { return field(live) == field(shadow) }}
		sw := newTestSwitch(t, Options{Shadow: o}, "v1", stable.URL, "v2", shadow.URL)
		base := serve(t, sw)
		if err := sw.StartShadow("v1", "v2"); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			path := "/even"
			if i%4 == 0 {
				path = "/odd"
			}
			if code, body := get(t, c, base+path); code != 200 || !bytes.Contains([]byte(body), []byte(`"stop"`)) {
				t.Fatalf("user got %d %q", code, body)
			}
		}
		waitFor(t, "comparisons", func() bool { g, _ := sw.Shadowing(); return g.Compared == 20 })
		got, _ := sw.Shadowing()
		cum := stats(sw, "v2").Cumulative
		if got.Mismatched != 5 || cum.Compared != 20 || cum.Mismatched != 5 {
			t.Fatalf("counts %+v, cumulative %+v: want 5 of 20 mismatched", got, cum)
		}
	})
}

// TestShadowVersionURLAndStreams: a copy goes to the shadow version's URL
// (its path before the request's, its query first, its credentials when the
// client sent none), and a stream that fails with an SSE error event counts
// as the shadow version's error, as a live one would.
func TestShadowVersionURLAndStreams(t *testing.T) {
	forEachProto(t, func(t *testing.T, c *http.Client) {
		var mu sync.Mutex
		var seen []string
		shadow := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			user, pass, _ := r.BasicAuth()
			mu.Lock()
			seen = append(seen, r.URL.RequestURI()+" "+user+":"+pass)
			mu.Unlock()
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"t\":1}\n\nevent: error\ndata: {}\n\n")
		})
		stable := newBackend(t, named("v1"))
		u := strings.Replace(shadow.URL, "http://", "http://bot:s3cret@", 1) + "/base?key=k"
		sw := newTestSwitch(t, Options{}, "v1", stable.URL, "v2", u)
		base := serve(t, sw)
		if err := sw.StartShadow("v1", "v2"); err != nil {
			t.Fatal(err)
		}
		if code, body := get(t, c, base+"/chat?i=7"); code != 200 || body != "v1" {
			t.Fatalf("user got %d %q", code, body)
		}
		waitFor(t, "the copy's answer recorded", func() bool { return stats(sw, "v2").Requests == 1 })
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0] != "/base/chat?key=k&i=7 bot:s3cret" {
			t.Fatalf("copy arrived as %v", seen)
		}
		if s := stats(sw, "v2"); s.Errors != 1 {
			t.Fatalf("a stream's error event in shadow: %v", s)
		}
	})
}
