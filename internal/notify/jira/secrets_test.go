package jira

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

var encodedCreds = base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + testToken))

func leaks(s string) bool { return strings.Contains(s, testToken) || strings.Contains(s, encodedCreds) }

func TestSecretNeverPrintedOrLogged(t *testing.T) {
	cfg := Config{BaseURL: "https://example.atlassian.net", Email: testEmail, APIToken: testToken, Project: "OPS"}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	notifytest.CheckNotPrinted(t, []string{testToken, encodedCreds}, cfg, n)
}

// A server that echoes the request, credentials encoded and decoded, must
// not get either into the error.
func TestSecretNotInErrors(t *testing.T) {
	notifytest.EchoedSecretsRedacted(t, []int{400, 401, 403, 500}, send, testToken, encodedCreds)
}

func TestConfigValidation(t *testing.T) {
	ok := Config{BaseURL: "https://example.atlassian.net", Email: testEmail, APIToken: testToken, Project: "OPS"}
	cases := map[string]func(*Config){
		"jira: base_url: is required":            func(c *Config) { c.BaseURL = "" },
		"email: is required":                     func(c *Config) { c.Email = "" },
		"api_token: is required":                 func(c *Config) { c.APIToken = "" },
		"project: is required":                   func(c *Config) { c.Project = "" },
		"timeout: must not be negative":          func(c *Config) { c.Timeout = -1 },
		"base_url: must be an absolute http":     func(c *Config) { c.BaseURL = "example.atlassian.net" },
		"base_url: must not contain credentials": func(c *Config) { c.BaseURL = "https://bot:" + testToken + "@example.atlassian.net" },
	}
	for want, mut := range cases {
		c := ok
		mut(&c)
		_, err := New(c, nil)
		if err == nil || !strings.Contains(err.Error(), want) || leaks(err.Error()) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	n, err := New(ok, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.client.Timeout != DefaultTimeout || n.cfg.IssueType != "Bug" {
		t.Errorf("defaults: timeout %s issue type %q", n.client.Timeout, n.cfg.IssueType)
	}
}
