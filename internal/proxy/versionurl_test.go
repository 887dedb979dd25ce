package proxy

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestVersionURLCredentials: a version URL's userinfo becomes the upstream
// Authorization when the client sent none, and its query goes before each
// request's own, on the fast path and the net/http path alike.
func TestVersionURLCredentials(t *testing.T) { forEachProto(t, testVersionURLCredentials) }

func testVersionURLCredentials(t *testing.T, c *http.Client) {
	type seen struct{ uri, auth string }
	got := make(chan seen, 1)
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.RequestURI, r.Header.Get("Authorization")}
		io.WriteString(w, "ok")
	})
	u := strings.Replace(be.URL, "http://", "http://svc:p%40ss@", 1) + "/base?key=k1"
	sw := newTestSwitch(t, Options{}, "v", u)
	base := serve(t, sw)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:p@ss"))
	for _, tc := range []struct{ path, clientAuth, uri, auth string }{
		{"/x?a=1", "", "/base/x?key=k1&a=1", basic},
		{"/y", "", "/base/y?key=k1", basic},
		{"/z?", "", "/base/z?key=k1", basic},
		{"/w?b=2", "Bearer client", "/base/w?key=k1&b=2", "Bearer client"},
	} {
		req, _ := http.NewRequest("GET", base+tc.path, nil)
		if tc.clientAuth != "" {
			req.Header.Set("Authorization", tc.clientAuth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		s := <-got
		if s.uri != tc.uri || s.auth != tc.auth {
			t.Errorf("%s (client auth %q): upstream got %q with Authorization %q, want %q with %q", tc.path, tc.clientAuth, s.uri, s.auth, tc.uri, tc.auth)
		}
	}
}
