package field

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Secret is a credential in a provider's Config: a token, an API key, a
// password, or a URL that authorises whoever holds it. However it is
// printed, logged or serialised it reads "<redacted>" ("" when unset), so a
// Config can go into fmt, slog or JSON as it is. Reveal gives the value to
// the code that needs it: to put it on the wire, to check it, or to scrub
// it from a server's answer.
//
// fmt reaches these methods only through exported fields: a Secret inside
// an unexported field (a Notifier's cfg) prints raw, so a Notifier that can
// be printed needs its own String. Nor does fmt call any method while it
// reports a wrong verb for a pointer nested in a struct (%s of
// struct{P *Config}).
//
// In a config file a Secret field with key NAME is given as NAME_file: PATH
// (a file holding it on one line, relative to the config file) or
// NAME: ${ENV_VAR}; the loader resolves either into the value and refuses a
// literal, so the file can be shared and printed. Go code sets the value
// directly: Secret("xoxb-…").
type Secret string

const redacted = "<redacted>"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String is "<redacted>", or "" when the secret is unset.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String quoted, for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format prints String, or GoString for %#v, whatever the verb: without
// it a wrong verb (%d, %t) would print the value in fmt's complaint.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue keeps the secret out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps the secret out of text encodings (and slog's
// TextHandler).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON keeps the secret out of JSON: "<redacted>" or "". (The
// string is written as is; json.Marshal then escapes its < and > as it
// does everywhere.)
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

var (
	_ fmt.Formatter  = Secret("")
	_ slog.LogValuer = Secret("")
)
