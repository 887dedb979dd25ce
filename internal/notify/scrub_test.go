package notify_test

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/notify"
)

// echoServer answers every request with what it received: the request line
// and every header, the way a misbehaving or debugging endpoint does. The
// Authorization header it echoes is the one Go's client built from the
// URL's userinfo.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request %s %s\n", r.Method, r.RequestURI)
		for k, vs := range r.Header {
			fmt.Fprintf(w, "%s: %s\n", k, strings.Join(vs, ","))
		}
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestScrubURLRemovesEchoedCredentials sends real requests to an echo
// server and scrubs its answers: the path token, the query secret, and the
// userinfo in every form it can come back in — as written, decoded, and as
// the base64 Basic credentials the client sent — are all replaced.
func TestScrubURLRemovesEchoedCredentials(t *testing.T) {
	srv := echoServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name    string
		url     string
		secrets []string
	}{
		{"basic credentials", "http://hookbot:Pa55-w0rd-77@" + host + "/hooks/in",
			[]string{"Pa55-w0rd-77", "hookbot:Pa55-w0rd-77", b64("hookbot:Pa55-w0rd-77")}},
		// These credentials' base64 has + and / in the standard alphabet
		// and - and _ in the URL one, and needs padding.
		// (dT4+OnA/P35+eA== standard, dT4-OnA_P35-eA== URL-safe).
		{"base64 with every alphabet difference", "http://u%3E%3E:p%3F%3F~~x@" + host + "/",
			[]string{b64("u>>:p??~~x"), base64.RawStdEncoding.EncodeToString([]byte("u>>:p??~~x")),
				base64.URLEncoding.EncodeToString([]byte("u>>:p??~~x")), "p??~~x"}},
		{"escaped password", "http://bot:p%40ss%2Fw0rd-x@" + host + "/",
			[]string{"p@ss/w0rd-x", "p%40ss%2Fw0rd-x", b64("bot:p@ss/w0rd-x")}},
		{"token in path", srv.URL + "/services/T000/B000/XXXXsecretXXXX",
			[]string{"XXXXsecretXXXX", "/services/T000/B000/XXXXsecretXXXX"}},
		{"token in query", srv.URL + "/hook?token=tok-9f8e7d&sig=abc%2Fdef",
			[]string{"tok-9f8e7d", "abc%2Fdef", "abc/def", "token=tok-9f8e7d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, tc.url, strings.NewReader("body "+tc.url))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The server really did echo what must be scrubbed.
			if u.User != nil && !strings.Contains(string(raw), "Basic "+b64(credentials(u))) {
				t.Fatalf("the echo lacks the Basic credentials the client sent:\n%s", raw)
			}
			got := string(notify.ScrubURL(raw, tc.url))
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("scrubbed answer still holds %q:\n%s", s, got)
				}
			}
			if !strings.Contains(got, "<redacted>") || !strings.Contains(got, "bad request POST") {
				t.Errorf("scrubbing removed more than the secrets, or nothing:\n%s", got)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func credentials(u *url.URL) string {
	pw, _ := u.User.Password()
	return u.User.Username() + ":" + pw
}

func TestURLSecrets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		raw      string
		contains []string
		absent   []string
	}{
		{"plain host has only itself", "https://hooks.example.com", []string{"https://hooks.example.com"}, []string{"/", ""}},
		{"root path is not a secret", "https://hooks.example.com/", nil, []string{"/"}},
		{"one-letter values are not scrubbed", "https://h/?a=b", []string{"a=b"}, []string{"b"}},
		{"user without password", "https://bob@h/x", []string{"/x"}, []string{"bob", b64("bob:")}},
		{"password forms", "https://bob:s3cr%21t@h/", []string{"s3cr!t", "s3cr%21t", "bob:s3cr!t", b64("bob:s3cr!t")}, nil},
		{"unparsable keeps the raw string", "http://%zz", []string{"http://%zz"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := notify.URLSecrets(tc.raw)
			has := map[string]bool{}
			for i, s := range got {
				has[s] = true
				if len(s) < 2 {
					t.Errorf("URLSecrets lists %q, which would blank unrelated text", s)
				}
				if i > 0 && len(s) > len(got[i-1]) {
					t.Errorf("URLSecrets not longest first: %q after %q", s, got[i-1])
				}
			}
			for _, s := range tc.contains {
				if !has[s] {
					t.Errorf("URLSecrets(%q) = %q, lacks %q", tc.raw, got, s)
				}
			}
			for _, s := range tc.absent {
				if has[s] {
					t.Errorf("URLSecrets(%q) = %q, must not list %q", tc.raw, got, s)
				}
			}
		})
	}
}

// TestScrubURLLongestFirst: a short form (the password) inside a longer
// one (the whole URL) must not leave the rest of the longer one behind.
func TestScrubURLLongestFirst(t *testing.T) {
	raw := "https://bot:tok123@hooks.example.com/p/tok123?k=tok123"
	got := string(notify.ScrubURL([]byte("POST "+raw+" failed; pw tok123"), raw))
	if got != "POST <redacted> failed; pw <redacted>" {
		t.Errorf("scrubbed = %q", got)
	}
	if string(notify.ScrubURL([]byte("nothing here"), raw)) != "nothing here" {
		t.Error("ScrubURL changed text without secrets")
	}
}

// TestScrubURLEveryBase64Alphabet: a server may echo the credentials
// re-encoded (URL-safe, unpadded); every alphabet's form is scrubbed.
func TestScrubURLEveryBase64Alphabet(t *testing.T) {
	raw := "https://u%3E%3E:p%3F%3F~~x@hooks.example.com/"
	creds := []byte("u>>:p??~~x")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		form := enc.EncodeToString(creds)
		got := string(notify.ScrubURL([]byte("auth="+form+";"), raw))
		if got != "auth=<redacted>;" {
			t.Errorf("form %q scrubbed to %q", form, got)
		}
	}
}
