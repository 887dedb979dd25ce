package store

import (
	"net/url"
	"strings"
	"testing"
)

// badRedaction says what is wrong with out as the redaction of raw, or "".
// It reads the output structurally rather than searching it for the
// secrets, which short secrets match by coincidence: out must parse, its
// password (if any) and every query value must read ***, and everything
// else that says which upstream it is — scheme, user, host, query keys,
// fragment — must be raw's.
func badRedaction(raw, out string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	o, err := url.Parse(out)
	if err != nil {
		return "output does not parse: " + err.Error()
	}
	if pw, ok := o.User.Password(); ok && pw != Masked {
		return "password shows as " + pw
	}
	if _, had := u.User.Password(); had {
		if _, ok := o.User.Password(); !ok {
			return "the password's place is gone"
		}
	}
	var keys []string
	for _, part := range strings.Split(u.RawQuery, "&") {
		k, _, found := strings.Cut(part, "=")
		if !found && k != "" {
			k = Masked // a bare value may be the token itself
		}
		keys = append(keys, k)
	}
	var outKeys []string
	for _, part := range strings.Split(o.RawQuery, "&") {
		k, v, found := strings.Cut(part, "=")
		if found && v != Masked {
			return "query value " + v + " shows"
		}
		outKeys = append(outKeys, k)
	}
	if strings.Join(keys, "&") != strings.Join(outKeys, "&") {
		return "query keys changed"
	}
	// (net/url may respell a path, "./" before a colon, so paths are not
	// compared.)
	if o.Scheme != u.Scheme || o.Host != u.Host || o.User.Username() != u.User.Username() || (u.Fragment != "") != (o.Fragment == Masked) {
		return "the scheme, host, user or fragment changed"
	}
	return ""
}

// TestRedactURLNeverLeaks runs every combination of the URL parts configs
// use through RedactURL and requires no password or query value in the
// result, and the host in it.
func TestRedactURLNeverLeaks(t *testing.T) {
	users := []string{"", "bob@", "bob:@", "bob:hunter2@", "deploy:p%40ss%3Aword@", "u:a%2Fb%3Fc%23d@", "x:***-real@"}
	hosts := []string{"10.0.0.5:8080", "[::1]:9001", "checkout-v2.internal", "h"}
	paths := []string{"", "/", "/v1/models", "/p%20q", "/a:b@c"}
	queries := []string{"", "?key=abc123def", "?a=1&token=tok-7f3e9&flag", "?sig=x%3Dy%26z&sig=second-9", "?=anon-value-1", "?k=v;w=semi-77"}
	n := 0
	for _, us := range users {
		for _, h := range hosts {
			for _, p := range paths {
				for _, q := range queries {
					raw := "https://" + us + h + p + q
					got := RedactURL(raw)
					n++
					if got == "<unparsable url>" {
						if _, err := url.Parse(raw); err == nil {
							t.Errorf("RedactURL(%q) gave up on a URL net/url parses", raw)
						}
						continue
					}
					if bad := badRedaction(raw, got); bad != "" {
						t.Errorf("RedactURL(%q) = %q: %s", raw, got, bad)
					}
					for _, secret := range []string{"hunter2", "p%40ss", "p@ss", "a%2Fb", "a/b?c", "real", "abc123def", "tok-7f3e9", "x%3Dy", "second-9", "anon-value-1", "semi-77"} {
						if strings.Contains(got, secret) {
							t.Errorf("RedactURL(%q) = %q shows %q", raw, got, secret)
						}
					}
					if !strings.Contains(got, strings.Trim(h, "[]")[:1]) || !strings.HasPrefix(got, "https://") {
						t.Errorf("RedactURL(%q) = %q lost the scheme or host", raw, got)
					}
					if RedactURL(got) != got {
						t.Errorf("RedactURL is not idempotent on %q: %q", got, RedactURL(got))
					}
				}
			}
		}
	}
	if n != len(users)*len(hosts)*len(paths)*len(queries) {
		t.Fatal("combinations skipped")
	}
}

// FuzzRedactURL: whatever the input, the output never carries the
// password or a query value of a URL net/url can parse.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"http://bob:s3cr3t@10.0.0.5:8080/v1?key=abc123", "https://u:p%40ss@h/?sig=a%3Db",
		"http://h/?a=1;b=2", "//u:pw@h/x", "http://b:c@h/:xxxxx@/?q=:xxxxx@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := RedactURL(raw)
		if got == "<unparsable url>" {
			return
		}
		if bad := badRedaction(raw, got); bad != "" {
			t.Errorf("RedactURL(%q) = %q: %s", raw, got, bad)
		}
	})
}
