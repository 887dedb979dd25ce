package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// received is one request a test receiver got.
type received struct {
	Method, Path, RawQuery, ContentType, Accept, UA, Auth string
	Body                                                  string
}

// receiver is a real HTTP endpoint answering with the given status and
// body, recording what it got.
func receiver(t *testing.T, status int, header map[string]string, body string) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"),
			r.Header.Get("Accept"), r.Header.Get("User-Agent"), r.Header.Get("Authorization"), string(b)})
		mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func call(srv *httptest.Server, in, out any) notify.JSONCall {
	return notify.JSONCall{
		Method: http.MethodPost, URL: srv.URL + "/rest/api/3/issue", In: in, Out: out,
		Query: url.Values{"notifyUsers": {"false"}, "q": {"a b&c"}},
		What:  "jira create issue",
		Prepare: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer tok-SECRET-1")
			return nil
		},
		Check: func(resp *http.Response, body []byte) error {
			return notify.CheckResponse(resp, "jira create issue", notify.ScrubURL(body, srv.URL))
		},
	}
}

// TestJSONCallWireFormat: the request a channel sends is JSON with the
// headers the APIs require, the query encoded, the credentials Prepare
// added, and the 2xx answer decoded.
func TestJSONCallWireFormat(t *testing.T) {
	srv, got := receiver(t, http.StatusCreated, map[string]string{"Content-Type": "application/json"}, `{"key":"OPS-7","id":"10001"}`)
	var out struct{ Key, ID string }
	in := map[string]any{"fields": map[string]any{"summary": "checkout: rollback <v2> & \"v1\""}}
	if err := call(srv, in, &out).Do(context.Background(), srv.Client()); err != nil {
		t.Fatal(err)
	}
	if out.Key != "OPS-7" || out.ID != "10001" {
		t.Errorf("decoded %+v", out)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/rest/api/3/issue" || r.ContentType != "application/json" ||
		r.Accept != "application/json" || r.UA != "ripcord" || r.Auth != "Bearer tok-SECRET-1" {
		t.Errorf("request = %+v", r)
	}
	q, _ := url.ParseQuery(r.RawQuery)
	if q.Get("notifyUsers") != "false" || q.Get("q") != "a b&c" {
		t.Errorf("query %q", r.RawQuery)
	}
	var body map[string]map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["fields"]["summary"] != `checkout: rollback <v2> & "v1"` {
		t.Errorf("body %s: %v", r.Body, err)
	}
}

func TestJSONCallWithoutBody(t *testing.T) {
	srv, got := receiver(t, http.StatusNoContent, nil, "")
	c := call(srv, nil, nil)
	c.Method, c.Query = http.MethodDelete, nil
	if err := c.Do(context.Background(), srv.Client()); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if r.Method != "DELETE" || r.ContentType != "" || r.Body != "" || r.RawQuery != "" {
		t.Errorf("a call without In sent %+v", r)
	}
}

// TestJSONCallClassifiesAnswers: what the channel's retry loop is told for
// each kind of answer, and that no answer puts a secret in the error.
func TestJSONCallClassifiesAnswers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		retryable bool
		after     time.Duration
		errPart   string
	}{
		{"ok", 200, nil, `{"key":"OPS-1"}`, false, 0, ""},
		{"2xx that does not decode", 200, nil, `<html>proxy login</html>`, true, 0, "jira create issue: decoding response"},
		{"bad request", 400, nil, `{"errors":{"summary":"required"}}`, false, 0, `HTTP 400: {"errors":{"summary":"required"}}`},
		{"unauthorized", 401, nil, "", false, 0, "HTTP 401"},
		{"gone", 410, nil, "", false, 0, "HTTP 410"},
		{"timeout", 408, nil, "", true, 0, "HTTP 408"},
		{"rate limited", 429, map[string]string{"Retry-After": "7"}, "slow down", true, 7 * time.Second, "HTTP 429: slow down"},
		{"unavailable", 503, map[string]string{"Retry-After": "bogus"}, "", true, 0, "HTTP 503"},
		{"echoes the URL", 500, nil, "", true, 0, "<redacted>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			var srv *httptest.Server
			if tc.name == "echoes the URL" {
				srv, _ = receiver(t, 500, nil, "")
				srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(500)
					io.WriteString(w, "upstream "+"http://"+r.Host+" failed")
				})
			} else {
				srv, _ = receiver(t, tc.status, tc.header, body)
			}
			var out map[string]any
			err := call(srv, map[string]string{"a": "b"}, &out).Do(context.Background(), srv.Client())
			if tc.errPart == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.errPart)
			}
			retry, after := notify.IsRetryable(err)
			if retry != tc.retryable || after != tc.after {
				t.Errorf("IsRetryable = %v, %v; want %v, %v", retry, after, tc.retryable, tc.after)
			}
			if strings.Contains(err.Error(), "tok-SECRET") || strings.Contains(err.Error(), srv.URL) {
				t.Errorf("error leaks a secret or the URL: %v", err)
			}
		})
	}
}

// TestJSONCallNetworkErrorHidesTheURL: a refused connection is retryable
// and its error names the call, not the URL (which may carry a token).
func TestJSONCallNetworkErrorHidesTheURL(t *testing.T) {
	srv, _ := receiver(t, 200, nil, "{}")
	c := call(srv, nil, nil)
	c.URL = srv.URL + "/hook/tok-SECRET-2"
	srv.Close()
	err := c.Do(context.Background(), http.DefaultClient)
	retry, _ := notify.IsRetryable(err)
	if err == nil || !retry || !strings.HasPrefix(err.Error(), "jira create issue: ") {
		t.Fatalf("err = %v (retryable %v), want a retryable error naming the call", err, retry)
	}
	// The dial error names host:port, which is no secret; the path is.
	if strings.Contains(err.Error(), "tok-SECRET") || strings.Contains(err.Error(), "/hook/") {
		t.Errorf("network error leaks the URL: %v", err)
	}
}

func TestJSONCallPrepareAndEncodeErrors(t *testing.T) {
	srv, got := receiver(t, 200, nil, "{}")
	wait := errors.New("rate limiter: context done")
	c := call(srv, nil, nil)
	c.Prepare = func(*http.Request) error { return wait }
	if err := c.Do(context.Background(), srv.Client()); !errors.Is(err, wait) {
		t.Errorf("Prepare error: %v", err)
	}
	c = call(srv, map[string]any{"f": func() {}}, nil)
	if err := c.Do(context.Background(), srv.Client()); err == nil || !strings.Contains(err.Error(), "jira create issue: encoding request") {
		t.Errorf("unencodable body: %v", err)
	}
	c = call(srv, nil, nil)
	c.URL = "http://[::1"
	if err := c.Do(context.Background(), srv.Client()); err == nil || !strings.Contains(err.Error(), "building request") {
		t.Errorf("bad URL: %v", err)
	}
	if n := len(got()); n != 0 {
		t.Errorf("%d requests reached the server from calls that should not have been sent", n)
	}
}

// TestCheckResponseExcerpt: service explanations are kept, but only the
// first 300 bytes of them.
func TestCheckResponseExcerpt(t *testing.T) {
	long := strings.Repeat("x", 1000)
	err := notify.CheckResponse(&http.Response{StatusCode: 422, Header: http.Header{}}, "gh create", []byte(long))
	if err == nil || !strings.HasSuffix(err.Error(), strings.Repeat("x", 300)+"…") || len(err.Error()) > 340 {
		t.Errorf("err = %.80v… (len %d)", err, len(err.Error()))
	}
	for code := 200; code < 300; code++ {
		if err := notify.CheckResponse(&http.Response{StatusCode: code}, "x", nil); err != nil {
			t.Errorf("status %d: %v", code, err)
		}
	}
	for _, code := range []int{301, 304, 400, 403, 404, 409, 422} {
		err := notify.CheckResponse(&http.Response{StatusCode: code, Header: http.Header{}}, "x", nil)
		if retry, _ := notify.IsRetryable(err); err == nil || retry {
			t.Errorf("status %d: %v (retryable %v), want permanent", code, err, retry)
		}
	}
	for _, code := range []int{408, 429, 500, 502, 503, 504, 599} {
		err := notify.CheckResponse(&http.Response{StatusCode: code, Header: http.Header{}}, "x", nil)
		if retry, _ := notify.IsRetryable(err); !retry {
			t.Errorf("status %d: %v, want retryable", code, err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Sat, 14 Mar 2026 09:00:30 GMT", 30 * time.Second},
	} {
		if got := notify.RetryAfter(tc.v, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	if notify.Retryable(nil, time.Second) != nil {
		t.Error("Retryable(nil) must stay nil, so `return Retryable(err, 0)` is safe")
	}
	cause := errors.New("503")
	err := notify.Retryable(cause, 3*time.Second)
	wrapped := errors.Join(errors.New("context"), err)
	if ok, after := notify.IsRetryable(wrapped); !ok || after != 3*time.Second || !errors.Is(wrapped, cause) || err.Error() != "503" {
		t.Errorf("wrapped retryable: %v %v", ok, after)
	}
	if ok, _ := notify.IsRetryable(cause); ok {
		t.Error("a plain error is retryable")
	}
}
