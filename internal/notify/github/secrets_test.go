package github

import (
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

func TestSecretNeverPrintedOrLogged(t *testing.T) {
	cfg := Config{Token: testToken, Owner: "acme", Repo: "shop"}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	notifytest.CheckNotPrinted(t, []string{testToken}, cfg, n)
}

// A server that echoes the Authorization header in its error message (and
// in its validation errors) must not get the token into the error.
func TestSecretNotInErrors(t *testing.T) {
	notifytest.EchoedSecretsRedacted(t, []int{400, 401, 403, 422, 500}, send, testToken)
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]Config{
		"github: token: is required":             {Owner: "a", Repo: "b"},
		"repo: is required":                      {Token: testToken, Owner: "a"},
		"owner: is required":                     {Token: testToken, Repo: "b"},
		"timeout: must not be negative":          {Token: testToken, Owner: "a", Repo: "b", Timeout: -1},
		"base_url: must be an absolute http":     {Token: testToken, Owner: "a", Repo: "b", BaseURL: "/api/v3"},
		"base_url: must not contain credentials": {Token: testToken, Owner: "a", Repo: "b", BaseURL: "https://x:" + testToken + "@ghe.example.com/api/v3/"},
	}
	for want, cfg := range cases {
		_, err := New(cfg, nil)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	n, err := New(Config{Token: testToken, Owner: "a", Repo: "b"}, nil)
	if err != nil || n.cfg.Timeout != DefaultTimeout {
		t.Errorf("default timeout: %v %v", n, err)
	}
}
