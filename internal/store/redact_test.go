package store

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://127.0.0.1:9001", "http://127.0.0.1:9001"},
		{"http://bob:s3cr3t@10.0.0.5:8080/v1", "http://bob:***@10.0.0.5:8080/v1"},
		{"http://bob@10.0.0.5/", "http://bob@10.0.0.5/"},
		{"https://api.example/v2?key=abc123&region=eu&flag", "https://api.example/v2?key=***&region=***&***"},
		{"https://u:p%40ss@h/?sig=a%3Db", "https://u:***@h/?sig=***"},
		{"http://[::1]:x/", "<unparsable url>"},
	} {
		got := RedactURL(tt.in)
		if got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"s3cr3t", "abc123", "p%40ss", "a%3Db"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) leaks %q", tt.in, secret)
			}
		}
	}
}

// TestRedactURLTable covers the shapes version URLs take in configs: the
// password goes, whatever it is made of; the user, host, port, path and
// query keys stay, so a reader still knows which upstream it is.
func TestRedactURLTable(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		secrets        []string
	}{
		{"empty password still marked", "http://bob:@h/", "http://bob:***@h/", nil},
		{"star in password", "http://bob:p*w0rd@h/", "http://bob:***@h/", []string{"p*w0rd"}},
		{"placeholder-looking user", "http://xxxxx:hunter2@h/", "http://xxxxx:***@h/", []string{"hunter2"}},
		{"placeholder in path survives", "http://b:hunter2@h/:xxxxx@/", "http://b:***@h/:xxxxx@/", []string{"hunter2"}},
		{"bare value masked (it may be the token)", "http://h/?flag", "http://h/?***", nil},
		{"semicolon is not a separator", "http://h/?a=1;token=zz9", "http://h/?a=***", []string{"zz9"}},
		{"empty key", "http://h/?=tok-77", "http://h/?=***", []string{"tok-77"}},
		{"repeated key", "http://h/?k=one1&k=two2", "http://h/?k=***&k=***", []string{"one1", "two2"}},
		{"ipv6 host and port", "http://u:pw-9a@[::1]:9001/v1?sig=abc", "http://u:***@[::1]:9001/v1?sig=***", []string{"pw-9a", "abc"}},
		{"https with path", "https://api.example.com/v2/models", "https://api.example.com/v2/models", nil},
		{"scheme-relative", "//u:pw-9b@h/x", "//u:***@h/x", []string{"pw-9b"}},
		{"percent-encoded password", "http://u:p%3Aq%2F@h/", "http://u:***@h/", []string{"p%3Aq%2F", "p:q/"}},
		// net/url refuses raw non-ASCII userinfo; refusing must not echo it.
		{"unicode password", "http://u:pässwörd@h/", "<unparsable url>", []string{"pässwörd", "p%C3%A4"}},
		{"bad escape", "http://%zz", "<unparsable url>", nil},
		{"control character", "http://h/\x7f", "<unparsable url>", nil},
		{"empty", "", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactURL(tt.in)
			if got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("RedactURL(%q) = %q leaks %q", tt.in, got, s)
				}
			}
			if again := RedactURL(got); got != "<unparsable url>" && again != got {
				t.Errorf("RedactURL is not idempotent: %q then %q", got, again)
			}
		})
	}
}

// TestRedactedVersions masks every URL and leaves the caller's slice as it
// was: the store keeps the real URL, since the switch needs it to connect.
func TestRedactedVersions(t *testing.T) {
	in := []Version{
		{Name: "v0", URL: "http://127.0.0.1:9000"},
		{Name: "v1", URL: "http://deploy:hunter2@10.0.0.1:9001/?key=abc123", KnownBad: true, BadReason: "error_rate 50%"},
		{Name: "v2", URL: "http://[::1"},
	}
	orig := append([]Version(nil), in...)
	out := RedactedVersions(in)
	if len(out) != len(in) {
		t.Fatalf("RedactedVersions returned %d versions, want %d", len(out), len(in))
	}
	want := []string{"http://127.0.0.1:9000", "http://deploy:***@10.0.0.1:9001/?key=***", "<unparsable url>"}
	for i := range in {
		if out[i].URL != want[i] {
			t.Errorf("version %s URL = %q, want %q", in[i].Name, out[i].URL, want[i])
		}
		if in[i] != orig[i] {
			t.Errorf("RedactedVersions changed the caller's version %d: %+v", i, in[i])
		}
		if out[i].Name != in[i].Name || out[i].KnownBad != in[i].KnownBad || out[i].BadReason != in[i].BadReason {
			t.Errorf("version %d lost fields: %+v", i, out[i])
		}
	}
	if got := RedactedVersions(nil); got == nil || len(got) != 0 {
		t.Errorf("RedactedVersions(nil) = %#v, want an empty, non-nil slice (JSON [] rather than null)", got)
	}
}

// The sentinels callers test with errors.Is must stay distinct.
func TestSentinelsDistinct(t *testing.T) {
	errs := []error{ErrNotFound, ErrInvalidTransition, ErrAlreadyFinished}
	for i, a := range errs {
		for j, b := range errs {
			if i != j && (a == b || a.Error() == b.Error()) {
				t.Errorf("sentinels %d and %d are the same: %v", i, j, a)
			}
		}
		if !strings.HasPrefix(a.Error(), "store: ") {
			t.Errorf("sentinel %q lacks the store: prefix", a)
		}
	}
}

// TestRedactURLOtherSchemes: version URLs are not only http — a WebSocket
// upstream or a password holding an unescaped @ (net/url splits the
// authority at the last one) is masked the same way.
func TestRedactURLOtherSchemes(t *testing.T) {
	for _, tt := range []struct{ in, want, secret string }{
		{"ws://bot:ws-pass-1@10.0.0.7:8080/stream?api_key=k-991", "ws://bot:***@10.0.0.7:8080/stream?api_key=***", "ws-pass-1"},
		{"wss://bot:wss-pass-2@llm.internal/v1/realtime", "wss://bot:***@llm.internal/v1/realtime", "wss-pass-2"},
		{"http://u:p@ss-at-3@h:9001/", "http://u:***@h:9001/", "ss-at-3"},
		{"HTTP://U:Upper-4@H/", "http://U:***@H/", "Upper-4"},
	} {
		got := RedactURL(tt.in)
		if got != tt.want || strings.Contains(got, tt.secret) {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactURLUserinfoEdges: the user stays readable (escaped as it was
// written) whatever it holds, and an empty user does not unmask the
// password.
func TestRedactURLUserinfoEdges(t *testing.T) {
	for _, tt := range []struct{ in, want, secret string }{
		{"http://:only-pass-5@h/", "http://:***@h/", "only-pass-5"},
		{"http://a%40b:pw-at-user-6@h/", "http://a%40b:***@h/", "pw-at-user-6"},
		{"http://a%3Ab:pw-colon-7@h/", "http://a%3Ab:***@h/", "pw-colon-7"},
		{"http://xxxxx:xxxxx@h/?xxxxx=pw-8", "http://xxxxx:***@h/?xxxxx=***", "pw-8"},
		{"http://u:%2A%2A%2A@h/", "http://u:***@h/", "%2A"},
	} {
		got := RedactURL(tt.in)
		if got != tt.want || strings.Contains(got, tt.secret) {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A bare query value and a fragment may be the credential itself.
func TestRedactURLBareQueryAndFragment(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/p?APIKEY123":        "http://h/p?***",
		"http://h/p?a=1&SECRET":       "http://h/p?a=***&***",
		"http://h/p#access_token=abc": "http://h/p#***",
		"http://u:pw@h/?k=v#frag":     "http://u:***@h/?k=***#***",
		"http://h/p?":                 "http://h/p?",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
