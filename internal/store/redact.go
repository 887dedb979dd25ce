package store

import (
	"net/url"
	"strings"
)

// Masked replaces the secret parts of a URL wherever one is shown.
const Masked = "***"

// RedactURL is a version URL as people may see it — in status, API answers,
// logs and reports, whatever their role: the password in its userinfo and
// every query value, a bare query value and the fragment read "***"; scheme, user, host, path and query keys
// stay, so it is still clear which upstream it is. The store itself keeps
// the URL as given, since the switch needs the credentials to connect.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	_, hasPassword := u.User.Password()
	if hasPassword {
		// url escapes '*' in userinfo; mark the spot and put *** in after.
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			if k, _, found := strings.Cut(p, "="); found {
				parts[i] = k + "=" + Masked
			} else if p != "" {
				parts[i] = Masked // a bare value (?APIKEY) may be the token itself
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		u.Fragment, u.RawFragment = Masked, "" // #access_token=… (OAuth implicit flow)
	}
	out := u.String()
	if hasPassword {
		out = strings.Replace(out, ":xxxxx@", ":"+Masked+"@", 1)
	}
	return out
}

// RedactedVersions returns vs with every URL passed through RedactURL.
func RedactedVersions(vs []Version) []Version {
	out := make([]Version, len(vs))
	for i, v := range vs {
		v.URL = RedactURL(v.URL)
		out[i] = v
	}
	return out
}
