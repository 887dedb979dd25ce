package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

const webhookSecret = "B0000/QmFzZTY0U2VjcmV0UGF0aA"

func okFalse(t *testing.T, code string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"ok": false, "error": code})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// modes builds a webhook-mode and a bot-mode Notifier for a server at
// base, each sending one message.
var modes = map[string]notifytest.Send{
	"webhook": func(t *testing.T, base string) error {
		n := mustNew(t, Config{WebhookURL: notify.Secret(base + "/services/T000/" + webhookSecret)})
		return n.Notify(context.Background(), msg(notify.Opened, 1))
	},
	"bot": func(t *testing.T, base string) error {
		n := mustNew(t, Config{Token: testToken, Channel: "C1", APIURL: base}, WithState(&notify.MemState{}))
		return n.Notify(context.Background(), msg(notify.Opened, 1))
	},
}

func TestRetryClassification(t *testing.T) {
	what := map[string]string{"webhook": "slack webhook", "bot": "slack chat.postMessage"}
	for mode, send := range modes {
		t.Run(mode, func(t *testing.T) {
			notifytest.RetryClassification(t, what[mode], send, testToken, webhookSecret)
		})
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
		for mode, send := range modes {
			check(fmt.Sprintf("%s HTTP %d", mode, status), send(t, notifytest.EchoServer(t, status, nil).URL))
		}
	}
	n := mustNew(t, Config{Token: testToken, Channel: "C1", APIURL: okFalse(t, "invalid_auth").URL}, WithState(&notify.MemState{}))
	check("invalid_auth", n.Notify(ctx, msg(notify.Opened, 1)))

	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	for mode, send := range modes {
		check(mode+" connection refused", send(t, srv.URL))
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
	out := notifytest.CheckNotPrinted(t, []string{testToken, webhookSecret}, cfg)
	// The Notifier holds the Config in an unexported field, which fmt
	// would print raw without its String.
	n := mustNew(t, Config{Token: testToken, Channel: "C1"}, WithState(&notify.MemState{}))
	notifytest.CheckNotPrinted(t, []string{testToken}, n, mustNew(t, Config{WebhookURL: cfg.WebhookURL}))
	if !strings.Contains(out, `"channel":"C1"`) {
		t.Errorf("log lost the non-secret fields: %s", out)
	}
}
