package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxBody bounds how much of a response is read.
const maxBody = 4 << 20

// JSONCall is one call of a JSON REST API, as the ticket and status-page
// channels make them.
type JSONCall struct {
	Method, URL string
	Query       url.Values
	In, Out     any // request body to encode, 2xx answer to decode into; nil for none
	// What names the call in errors; it must never hold a secret.
	What string
	// Prepare adds credentials to the request and may wait (a rate limit)
	// before it is sent.
	Prepare func(*http.Request) error
	// Check classifies the response (usually CheckResponse with any secret
	// scrubbed from the body, in case a server echoes the request).
	Check func(resp *http.Response, body []byte) error
}

// Do sends the call with c. A 2xx answer that does not decode is retryable:
// the call may have landed, and the channels look up what they created
// before creating again.
func (call JSONCall) Do(ctx context.Context, c *http.Client) error {
	var body io.Reader
	if call.In != nil {
		b, err := json.Marshal(call.In)
		if err != nil {
			return fmt.Errorf("%s: encoding request: %w", call.What, err)
		}
		body = bytes.NewReader(b)
	}
	u := call.URL
	if len(call.Query) > 0 {
		u += "?" + call.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, u, body)
	if err != nil {
		return fmt.Errorf("%s: building request: %w", call.What, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ripcord")
	if call.In != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := call.Prepare(req); err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return NetworkError(call.What, err)
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err := call.Check(resp, data); err != nil {
		return err
	}
	if readErr != nil {
		return NetworkError(call.What, readErr)
	}
	if call.Out != nil {
		if err := json.Unmarshal(data, call.Out); err != nil {
			return Retryable(fmt.Errorf("%s: decoding response: %w", call.What, err), 0)
		}
	}
	return nil
}
