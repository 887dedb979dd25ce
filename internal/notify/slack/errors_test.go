package slack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
)

const webhookSecret = "B0000/QmFzZTY0U2VjcmV0UGF0aA"

// statusServer answers every request with status, headers and a body that
// echoes the request (form, path), as a badly behaved proxy might.
func statusServer(t *testing.T, status int, header map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "error for %s %v", r.URL.Path, r.PostForm)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func okFalse(t *testing.T, code string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"ok": false, "error": code})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// both returns a webhook-mode and a bot-mode Notifier pointed at srv.
func both(t *testing.T, srv *httptest.Server) map[string]*Notifier {
	return map[string]*Notifier{
		"webhook": mustNew(t, Config{WebhookURL: srv.URL + "/services/T000/" + webhookSecret}),
		"bot":     mustNew(t, Config{Token: testToken, Channel: "C1", APIURL: srv.URL}, WithState(&notify.MemState{})),
	}
}

func TestRetryClassification(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		header    map[string]string
		retryable bool
		after     time.Duration
	}{
		{"500", 500, nil, true, 0},
		{"503", 503, nil, true, 0},
		{"408", 408, nil, true, 0},
		{"429 Retry-After 7", 429, map[string]string{"Retry-After": "7"}, true, 7 * time.Second},
		{"400", 400, nil, false, 0},
		{"403", 403, nil, false, 0},
		{"404", 404, nil, false, 0},
		{"410", 410, nil, false, 0},
	}
	for _, tc := range cases {
		for mode, n := range both(t, statusServer(t, tc.status, tc.header)) {
			err := n.Notify(context.Background(), msg(notify.Opened, 1))
			if err == nil {
				t.Fatalf("%s %s: no error", mode, tc.name)
			}
			r, after := notify.IsRetryable(err)
			if r != tc.retryable || after != tc.after {
				t.Errorf("%s %s: retryable=%v after=%s, want %v %s (%v)", mode, tc.name, r, after, tc.retryable, tc.after, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d", tc.status)) {
				t.Errorf("%s %s: error %q does not name the status", mode, tc.name, err)
			}
		}
	}
}

func TestAPIErrorClassification(t *testing.T) {
	for code, retry := range map[string]bool{
		"ratelimited":       true,
		"internal_error":    true,
		"invalid_auth":      false,
		"channel_not_found": false,
		"not_in_channel":    false,
	} {
		n := mustNew(t, Config{Token: testToken, Channel: "C1", APIURL: okFalse(t, code).URL}, WithState(&notify.MemState{}))
		err := n.Notify(context.Background(), msg(notify.Opened, 1))
		if r, _ := notify.IsRetryable(err); err == nil || r != retry {
			t.Errorf("%s: err=%v retryable=%v, want %v", code, err, r, retry)
		}
		if err != nil && !strings.Contains(err.Error(), code) {
			t.Errorf("%s: error %q does not name the code", code, err)
		}
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	ns := both(t, srv)
	srv.Close()
	for mode, n := range ns {
		err := n.Notify(context.Background(), msg(notify.Opened, 1))
		if r, _ := notify.IsRetryable(err); err == nil || !r {
			t.Errorf("%s: err=%v, want retryable", mode, err)
		}
	}
}

// TestSecretsNeverInErrors triggers every kind of failure with secrets in
// the config and a server that echoes the request back.
func TestSecretsNeverInErrors(t *testing.T) {
	secrets := []string{testToken, webhookSecret}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v", err), s) {
				t.Errorf("%s: error leaks a secret: %v", what, err)
			}
		}
	}
	ctx := context.Background()
	for _, status := range []int{400, 404, 500} {
		for mode, n := range both(t, statusServer(t, status, nil)) {
			check(fmt.Sprintf("%s HTTP %d", mode, status), n.Notify(ctx, msg(notify.Opened, 1)))
		}
	}
	n := mustNew(t, Config{Token: testToken, Channel: "C1", APIURL: okFalse(t, "invalid_auth").URL}, WithState(&notify.MemState{}))
	check("invalid_auth", n.Notify(ctx, msg(notify.Opened, 1)))

	srv := httptest.NewServer(http.NotFoundHandler())
	ns := both(t, srv)
	srv.Close()
	for mode, n := range ns {
		check(mode+" connection refused", n.Notify(ctx, msg(notify.Opened, 1)))
	}
	timeout := mustNew(t, Config{WebhookURL: "http://192.0.2.1/services/T000/" + webhookSecret, Timeout: time.Millisecond})
	check("timeout", timeout.Notify(ctx, msg(notify.Opened, 1)))

	_, err := New(Config{WebhookURL: "hooks.slack.com/services/T000/" + webhookSecret, Token: testToken})
	check("New", err)
	_, err = New(Config{WebhookURL: "::/services/T000/" + webhookSecret})
	check("New unparsable", err)
}

func TestConfigPrintingHidesSecrets(t *testing.T) {
	cfg := Config{WebhookURL: "https://hooks.slack.com/services/T000/" + webhookSecret, Token: testToken, Channel: "C1"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("slack", "config", cfg)
	for _, out := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logs.String(),
	} {
		if strings.Contains(out, testToken) || strings.Contains(out, webhookSecret) {
			t.Errorf("printed config leaks a secret: %s", out)
		}
	}
	if !strings.Contains(logs.String(), `"channel":"C1"`) {
		t.Errorf("log lost the non-secret fields: %s", logs.String())
	}
}
