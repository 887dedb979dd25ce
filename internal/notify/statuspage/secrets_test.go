package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

func TestSecretNeverPrintedOrLogged(t *testing.T) {
	cfg := Config{APIKey: testKey, PageID: testPage}
	n, err := New(cfg, nil, WithLimiter(noWait{}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("configured", "cfg", cfg, "notifier", n)
	log.Info("text", "cfg", slog.AnyValue(cfg))
	slog.New(slog.NewTextHandler(&buf, nil)).Info("configured", "cfg", cfg, "notifier", n)
	j, _ := json.Marshal(cfg)
	out := buf.String() + string(j) +
		fmt.Sprintf("%v %+v %#v %s %v %+v %#v", cfg, cfg, cfg, cfg, n, n, n) +
		fmt.Sprintf("%v %+v", &cfg, struct{ C Config }{cfg})
	if strings.Contains(out, testKey) {
		t.Fatalf("key leaked:\n%s", out)
	}
	if !strings.Contains(out, "<redacted>") {
		t.Errorf("expected <redacted> in output:\n%s", out)
	}
}

// A server that echoes the request (headers included) in its error body
// must not get the key into the error.
func TestSecretNotInErrors(t *testing.T) {
	for _, status := range []int{400, 401, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":"bad auth %s"}`, r.Header.Get("Authorization"))
		}))
		n, err := New(Config{BaseURL: srv.URL, APIKey: testKey, PageID: testPage}, nil, WithLimiter(noWait{}))
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), notify.Message{Update: notify.Opened, IncidentID: "INC-1", Severity: incident.Minor})
		srv.Close()
		if err == nil || strings.Contains(err.Error(), testKey) {
			t.Fatalf("HTTP %d: err = %v", status, err)
		}
		if !strings.Contains(err.Error(), "<redacted>") {
			t.Errorf("HTTP %d: err = %v, want the echoed key redacted", status, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]Config{
		"api_key is required":          {PageID: "p"},
		"page_id is required":          {APIKey: testKey},
		"absolute http or https":       {APIKey: testKey, PageID: "p", BaseURL: "ftp://x"},
		"must not contain credentials": {APIKey: testKey, PageID: "p", BaseURL: "https://user:" + testKey + "@example.com/v1"},
		"timeout must not be negative": {APIKey: testKey, PageID: "p", Timeout: -1},
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
