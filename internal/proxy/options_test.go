package proxy

import (
	"bytes"
	"go/build"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// TestLeafPackage: the request path depends on no other ripcord package
// (DESIGN §2), so it never compiles in a provider or the config schema.
func TestLeafPackage(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/ripcord/ripcord/") {
			t.Errorf("internal/proxy imports %s", imp)
		}
	}
}

func TestVersionURLRedactedInLog(t *testing.T) {
	var logs bytes.Buffer
	sw := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	raw := "http://svc:hunter2@127.0.0.1:9000/base?api_key=s3cret&token=t0k&bare"
	if err := sw.SetVersion("v1", raw); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, secret := range []string{"hunter2", "s3cret", "t0k", "bare"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q: %s", secret, out)
		}
	}
	u, _ := url.Parse(raw)
	if got, want := redactURL(u), "http://svc:***@127.0.0.1:9000/base?api_key=***&token=***&***"; got != want {
		t.Errorf("redactURL = %s, want %s", got, want)
	}
	if !strings.Contains(out, "api_key=***") {
		t.Errorf("log line lost the URL's shape: %s", out)
	}
}
