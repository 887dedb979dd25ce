// Package notifytest holds what the channel packages' tests share: checks
// that secrets stay out of what is printed and logged, a server that echoes
// requests back as badly behaved services do, and the retry classification
// every HTTP channel must give. Only tests import it.
package notifytest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Printed renders each value every way one reaches a log line or a
// message: fmt's %v, %+v, %#v and %s, the first three also with the value
// as a struct field, slog's text and JSON handlers, and json.Marshal.
// (Wrong verbs, which fmt answers with the raw fields, are vet's to catch.)
func Printed(vals ...any) string {
	var b strings.Builder
	text := slog.New(slog.NewTextHandler(&b, nil))
	js := slog.New(slog.NewJSONHandler(&b, nil))
	for _, v := range vals {
		field := struct{ V any }{v}
		fmt.Fprintf(&b, "%v\n%+v\n%#v\n%s\n", v, v, v, v)
		fmt.Fprintf(&b, "%v\n%+v\n%#v\n", field, field, field)
		text.Info("printed", "value", v)
		js.Info("printed", "value", v)
		j, _ := json.Marshal(v)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// CheckNotPrinted fails t if Printed(vals...) shows one of secrets, or
// never shows "<redacted>" (the values should hold a secret), and returns
// the output for further checks.
func CheckNotPrinted(t testing.TB, secrets []string, vals ...any) string {
	t.Helper()
	out := Printed(vals...)
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("printed output leaks %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "<redacted>") {
		t.Errorf("printed output shows no <redacted>:\n%s", out)
	}
	return out
}
