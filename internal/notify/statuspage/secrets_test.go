package statuspage

import (
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

func TestSecretNeverPrintedOrLogged(t *testing.T) {
	cfg := Config{APIKey: testKey, PageID: testPage}
	n, err := New(cfg, nil, WithLimiter(noWait{}))
	if err != nil {
		t.Fatal(err)
	}
	notifytest.CheckNotPrinted(t, []string{testKey}, cfg, &cfg, n)
}

// A server that echoes the request (headers included) in its error body
// must not get the key into the error.
func TestSecretNotInErrors(t *testing.T) {
	notifytest.EchoedSecretsRedacted(t, []int{400, 401, 500}, send, testKey)
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]Config{
		"statuspage: api_key: is required":       {PageID: "p"},
		"page_id: is required":                   {APIKey: testKey},
		"base_url: must be an absolute http":     {APIKey: testKey, PageID: "p", BaseURL: "ftp://x"},
		"base_url: must not contain credentials": {APIKey: testKey, PageID: "p", BaseURL: "https://user:" + testKey + "@example.com/v1"},
		"timeout: must not be negative":          {APIKey: testKey, PageID: "p", Timeout: -1},
	}
	for want, cfg := range cases {
		_, err := New(cfg, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want %q", cfg, err, want)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("error leaks the key: %v", err)
		}
	}
	n, err := New(Config{APIKey: testKey, PageID: "p"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.base != DefaultBaseURL || n.client.Timeout != DefaultTimeout {
		t.Errorf("defaults: base %q timeout %s", n.base, n.client.Timeout)
	}
}
