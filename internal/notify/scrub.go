package notify

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"sort"
)

// URLSecrets lists the forms in which a configured endpoint URL's secrets
// can come back in a server's answer: the URL itself, its path and query,
// its userinfo's password (as written and decoded) and — because Go's
// client sends userinfo as "Authorization: Basic base64(user:password)", and
// a server that echoes request headers sends that back — the base64 of the
// credentials in every common alphabet. Longest first, so a replacement
// never leaves part of a longer form behind.
func URLSecrets(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	out = append(out, u.RequestURI(), u.EscapedPath(), u.RawQuery)
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	if pw, ok := u.User.Password(); ok {
		creds := u.User.Username() + ":" + pw
		out = append(out, pw, url.QueryEscape(pw), creds)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			out = append(out, enc.EncodeToString([]byte(creds)))
		}
	}
	kept := out[:0]
	for _, s := range out {
		if len(s) > 1 && s != "/" { // "/" or one letter would blank the whole text
			kept = append(kept, s)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return len(kept[i]) > len(kept[j]) })
	return kept
}

// redacted is what a scrubbed secret reads, as a field.Secret prints.
const redacted = "<redacted>"

// ScrubURL replaces every form of raw's secrets (URLSecrets) in b with
// <redacted>.
func ScrubURL(b []byte, raw string) []byte {
	for _, s := range URLSecrets(raw) {
		b = bytes.ReplaceAll(b, []byte(s), []byte(redacted))
	}
	return b
}
