package jira

import (
	"bytes"
	"context"
	"encoding/base64"
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

var encodedCreds = base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + testToken))

func leaks(s string) bool { return strings.Contains(s, testToken) || strings.Contains(s, encodedCreds) }

func TestSecretNeverPrintedOrLogged(t *testing.T) {
	cfg := Config{BaseURL: "https://example.atlassian.net", Email: testEmail, APIToken: testToken, Project: "OPS"}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cfg", cfg, "notifier", n)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", cfg, "notifier", n)
	j, _ := json.Marshal(cfg)
	out := buf.String() + string(j) + fmt.Sprintf("%v %+v %#v %v %+v %#v %+v", cfg, cfg, cfg, n, n, n, struct{ C Config }{cfg})
	if leaks(out) || !strings.Contains(out, "<redacted>") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestSecretNotInErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"errorMessages":["bad credentials %s (token %s)"]}`, r.Header.Get("Authorization"), testToken)
		}))
		n, err := New(Config{BaseURL: srv.URL, Email: testEmail, APIToken: testToken, Project: "OPS"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), notify.Message{Update: notify.Opened, IncidentID: "INC-1", Severity: incident.Minor})
		srv.Close()
		if err == nil || leaks(err.Error()) || !strings.Contains(err.Error(), "<redacted>") {
			t.Fatalf("HTTP %d: err = %v", status, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{BaseURL: "https://example.atlassian.net", Email: testEmail, APIToken: testToken, Project: "OPS"}
	cases := map[string]func(*Config){
		"base_url is required":         func(c *Config) { c.BaseURL = "" },
		"email is required":            func(c *Config) { c.Email = "" },
		"api_token is required":        func(c *Config) { c.APIToken = "" },
		"project is required":          func(c *Config) { c.Project = "" },
		"timeout must not be negative": func(c *Config) { c.Timeout = -1 },
		"absolute http or https":       func(c *Config) { c.BaseURL = "example.atlassian.net" },
		"must not contain credentials": func(c *Config) { c.BaseURL = "https://bot:" + testToken + "@example.atlassian.net" },
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
