package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"

	"github.com/ripcord/ripcord/internal/notify"
)

// slack-go turns a non-2xx response into StatusCodeError or
// RateLimitedError and drops the body and most headers. recorder sits under
// it as the HTTP transport and keeps the failed response for the call that
// asked (through the request context), so classify can hand it to
// notify.CheckResponse like every other channel does.
type recorder struct{ next http.RoundTripper }

type exchange struct {
	resp *http.Response // status and header only; the body is in body
	body []byte
}

type exchangeKey struct{}

// maxBody bounds how much of an error response is kept.
const maxBody = 4 << 10

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	ex, ok := req.Context().Value(exchangeKey{}).(*exchange)
	if err != nil || !ok || (resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	ex.resp = &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone()}
	ex.body = body
	return resp, nil
}

// record returns a context under which recorder keeps a failed response.
func record(ctx context.Context) (context.Context, *exchange) {
	ex := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, ex), ex
}

// retryableCodes are Web API "ok": false errors a later attempt may fix.
// Everything else (invalid_auth, channel_not_found, not_in_channel,
// invalid_blocks, msg_too_long…) needs a person.
var retryableCodes = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
}

// classify turns what slack-go returned into an error that says whether a
// retry helps and carries no secret: not the token (sent in the form body),
// not the webhook URL (which *url.Error would quote), not a body that echoes
// either.
func (n *Notifier) classify(what string, ex *exchange, err error) error {
	if err == nil {
		return nil
	}
	if ex != nil && ex.resp != nil {
		return notify.CheckResponse(ex.resp, what, n.scrub(ex.body))
	}
	var apiErr slack.SlackErrorResponse
	if errors.As(err, &apiErr) {
		e := fmt.Errorf("%s: %s", what, n.scrub([]byte(apiErr.Err)))
		if retryableCodes[apiErr.Err] {
			return notify.Retryable(e, 0)
		}
		return e
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return notify.Retryable(fmt.Errorf("%s: rate limited", what), rl.RetryAfter)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// Keep the cause (timeout, refused, DNS), drop the URL.
		return notify.NetworkError(what, ue)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return notify.Retryable(fmt.Errorf("%s: %w", what, err), 0)
	}
	// A 200 that is not Slack's JSON: usually api_url points somewhere else.
	return fmt.Errorf("%s: unexpected response: %s", what, n.scrub([]byte(err.Error())))
}

// scrub removes the configured secrets from text quoted in an error.
func (n *Notifier) scrub(b []byte) []byte {
	for _, s := range []string{n.cfg.Token.Reveal(), n.cfg.WebhookURL.Reveal()} {
		if s != "" {
			b = bytes.ReplaceAll(b, []byte(s), []byte("<redacted>"))
		}
	}
	if n.cfg.WebhookURL != "" {
		if u, err := url.Parse(n.cfg.WebhookURL.Reveal()); err == nil && len(u.Path) > 1 {
			b = bytes.ReplaceAll(b, []byte(u.Path), []byte("<redacted>"))
		}
	}
	return b
}

// isGone reports a chat.update failure that means the original message is
// no longer ours to edit, so a fresh one should be posted.
func isGone(err error) bool {
	var apiErr slack.SlackErrorResponse
	return errors.As(err, &apiErr) &&
		(apiErr.Err == "message_not_found" || apiErr.Err == "cant_update_message")
}
