package notifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

// Send builds a notifier for a service at baseURL (no trailing slash) and
// sends it one message, returning what Notify returned.
type Send func(t *testing.T, baseURL string) error

// EchoServer starts a server that answers every request with status and
// header, and a JSON body quoting the request back (method, URI,
// Authorization header, decoded basic-auth credentials, body) in "message"
// and again in errors[0].message, where GitHub puts validation details: a
// service or proxy that repeats credentials in its error pages. The test
// closes it.
func EchoServer(t testing.TB, status int, header http.Header) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := fmt.Sprintf("echo %s %s authorization=%s", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"))
		if user, password, ok := r.BasicAuth(); ok {
			echo += fmt.Sprintf(" (%s:%s)", user, password)
		}
		echo += fmt.Sprintf(" body=%s", body)
		type detail struct {
			Message string `json:"message"`
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false) // quote the request as it came
		_ = enc.Encode(struct {
			Message string   `json:"message"`
			Errors  []detail `json:"errors"`
		}{echo, []detail{{echo}}})
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(out.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// RetryCase is one answer from a failing service and how a channel must
// classify the error it gets.
type RetryCase struct {
	Status     int
	RetryAfter string // the Retry-After header; "" sends none
	Retryable  bool
	After      time.Duration // the wait IsRetryable must report
}

// RetryCases are the answers every HTTP channel classifies alike, as
// notify.CheckResponse does: 408, 429 and 5xx are retryable, after
// Retry-After when the server gave one; the other 4xx are permanent.
var RetryCases = []RetryCase{
	{408, "", true, 0},
	{429, "", true, 0},
	{429, "7", true, 7 * time.Second},
	{500, "", true, 0},
	{502, "", true, 0},
	{503, "", true, 0},
	{400, "", false, 0},
	{401, "", false, 0},
	{403, "", false, 0},
	{404, "", false, 0},
	{410, "", false, 0},
}

// RetryClassification sends through send to an EchoServer giving each of
// RetryCases, and checks every error: classified as the case says,
// starting with what (the name of the failing call), naming the HTTP
// status, and quoting none of secrets. Then it sends to a server that is
// gone: a refused connection must be retryable too.
func RetryClassification(t *testing.T, what string, send Send, secrets ...string) {
	t.Helper()
	for _, c := range RetryCases {
		name := fmt.Sprintf("HTTP %d", c.Status)
		var header http.Header
		if c.RetryAfter != "" {
			name += " Retry-After " + c.RetryAfter
			header = http.Header{"Retry-After": {c.RetryAfter}}
		}
		t.Run(name, func(t *testing.T) {
			err := send(t, EchoServer(t, c.Status, header).URL)
			if err == nil {
				t.Fatal("no error")
			}
			ok, after := notify.IsRetryable(err)
			if ok != c.Retryable || after != c.After {
				t.Errorf("retryable %v after %s, want %v %s (err %v)", ok, after, c.Retryable, c.After, err)
			}
			if !strings.HasPrefix(err.Error(), what) || !strings.Contains(err.Error(), fmt.Sprintf(": HTTP %d: ", c.Status)) {
				t.Errorf("error %q does not name the call (%s) and the status", err, what)
			}
			CheckErrorHides(t, err, secrets...)
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		err := send(t, srv.URL)
		if ok, _ := notify.IsRetryable(err); err == nil || !ok {
			t.Errorf("err = %v, want retryable", err)
		}
		CheckErrorHides(t, err, secrets...)
	})
}

// EchoedSecretsRedacted sends through send to an EchoServer answering each
// of statuses, and checks that every error quotes none of secrets yet
// shows "<redacted>" where the echo repeated one: the scrubbing, not a
// short excerpt, kept them out.
func EchoedSecretsRedacted(t *testing.T, statuses []int, send Send, secrets ...string) {
	t.Helper()
	for _, status := range statuses {
		err := send(t, EchoServer(t, status, nil).URL)
		if err == nil {
			t.Fatalf("HTTP %d: no error", status)
		}
		CheckErrorHides(t, err, secrets...)
		if !strings.Contains(err.Error(), "<redacted>") {
			t.Errorf("HTTP %d: err = %v, want the echoed secret shown as <redacted>", status, err)
		}
	}
}

// CheckErrorHides fails t if err, printed with %v or %+v, shows one of
// secrets.
func CheckErrorHides(t testing.TB, err error, secrets ...string) {
	t.Helper()
	out := fmt.Sprintf("%v %+v", err, err)
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("error leaks %q: %s", s, out)
		}
	}
}
