package email

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

const testPassword = "smtp-SECRET-pass-42"

// encodedCreds is the AUTH PLAIN line's argument for user bot.
var encodedCreds = base64.StdEncoding.EncodeToString([]byte("\x00bot\x00" + testPassword))

func leaks(s string) bool {
	return strings.Contains(s, testPassword) || strings.Contains(s, encodedCreds)
}

func TestSecretNeverPrintedOrLogged(t *testing.T) {
	cfg := Config{Addr: "smtp.example.com:587", From: "r@example.com", To: []string{"a@example.com"}, Username: "bot", Password: testPassword}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	notifytest.CheckNotPrinted(t, []string{testPassword, encodedCreds}, cfg, n)
}

// The test server's 535 reply echoes the AUTH line, credentials included.
func TestSecretNotInErrors(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	srv := newSMTPD(t, "127.0.0.1:0")
	srv.tls, srv.user, srv.password = srvTLS, "bot", "a different password"
	err := newNotifier(t, Config{Addr: srv.addr(), Username: "bot", Password: testPassword, TLSConfig: cliTLS}).
		Notify(context.Background(), notify.Message{Update: notify.Opened, IncidentID: "INC-1", Severity: incident.Minor})
	if ok, _ := notify.IsRetryable(err); err == nil || ok {
		t.Fatalf("err = %v, want permanent 535", err)
	}
	if leaks(err.Error()) || !strings.Contains(err.Error(), "535") || !strings.Contains(err.Error(), "<redacted>") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Addr: "smtp.example.com:587", From: "r@example.com", To: []string{"a@example.com"}}
	cases := map[string]func(*Config){
		"email: addr: must be host:port":           func(c *Config) { c.Addr = "smtp.example.com" },
		"tls: must be":                             func(c *Config) { c.TLS = "ssl" },
		"timeout: must not be negative":            func(c *Config) { c.Timeout = -1 },
		"username: is required with a password":    func(c *Config) { c.Password = testPassword },
		"to: needs at least one recipient":         func(c *Config) { c.To = nil },
		`from: "not an address" is not an address`: func(c *Config) { c.From = "not an address" },
		"from: is required":                        func(c *Config) { c.From = "" },
		`to[1]: "x@" is not an address`:            func(c *Config) { c.To = []string{"a@example.com", "x@"} },
		"hello_name":                               func(c *Config) { c.HelloName = "a b" },
	}
	for want, mut := range cases {
		c := ok
		mut(&c)
		_, err := New(c)
		if err == nil || !strings.Contains(err.Error(), want) || leaks(err.Error()) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	n, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if n.cfg.Timeout != DefaultTimeout || n.cfg.TLS != TLSStartTLS || n.cfg.HelloName != "localhost" || n.domain != "example.com" {
		t.Errorf("defaults %+v domain %q", n.cfg, n.domain)
	}
}
