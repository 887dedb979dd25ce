package github

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
	cfg := Config{Token: testToken, Owner: "acme", Repo: "shop"}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cfg", cfg, "notifier", n)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", cfg, "notifier", n)
	j, _ := json.Marshal(cfg)
	out := buf.String() + string(j) + fmt.Sprintf("%v %+v %#v %v %+v %#v %+v", cfg, cfg, cfg, n, n, n, struct{ C Config }{cfg})
	if strings.Contains(out, testToken) || !strings.Contains(out, "<redacted>") {
		t.Fatalf("output:\n%s", out)
	}
}

// A server that echoes the Authorization header in its error message must
// not get the token into the error.
func TestSecretNotInErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 422, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":"Bad credentials: %s","errors":[{"resource":"Issue","field":"title","code":"invalid","message":"%s"}]}`,
				r.Header.Get("Authorization"), testToken)
		}))
		n, err := New(Config{BaseURL: srv.URL + "/", Token: testToken, Owner: "acme", Repo: "shop"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), notify.Message{Update: notify.Opened, IncidentID: "INC-1", Severity: incident.Minor})
		srv.Close()
		if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "<redacted>") {
			t.Fatalf("HTTP %d: err = %v", status, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]Config{
		"token is required":            {Owner: "a", Repo: "b"},
		"owner and repo are required":  {Token: testToken, Owner: "a"},
		"timeout must not be negative": {Token: testToken, Owner: "a", Repo: "b", Timeout: -1},
		"absolute http or https":       {Token: testToken, Owner: "a", Repo: "b", BaseURL: "/api/v3"},
		"must not contain credentials": {Token: testToken, Owner: "a", Repo: "b", BaseURL: "https://x:" + testToken + "@ghe.example.com/api/v3/"},
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
