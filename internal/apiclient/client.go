// Package apiclient is the typed client of ripcord's HTTP API, used by the
// CLI and by end-to-end tests, so both exercise exactly what users call.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/ha"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/store"
)

// Client talks to one ripcord daemon.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for base (e.g. http://127.0.0.1:7070). The token is
// sent as a bearer token and never included in errors.
func New(base, token string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// Error is an API error response.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// Report returns the post-incident report, format "md" or "html".
func (c *Client) Report(ctx context.Context, id, format string) ([]byte, error) {
	var raw rawBody
	err := c.do(ctx, http.MethodGet, "/api/v1/incidents/"+url.PathEscape(id)+"/report?format="+url.QueryEscape(format), nil, &raw)
	return raw, err
}

// rawBody receives a response body as is.
type rawBody []byte

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.doHeaders(ctx, c.http, method, path, body, out)
	return err
}

func (c *Client) doWith(ctx context.Context, hc *http.Client, method, path string, body, out any) error {
	_, err := c.doHeaders(ctx, hc, method, path, body, out)
	return err
}

// doHeaders is do, also returning the response's headers (a page's links).
func (c *Client) doHeaders(ctx context.Context, hc *http.Client, method, path string, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("apiclient: encode: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("apiclient: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("apiclient: %s %s: %w (is `ripcord serve` running there? set --server)", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("apiclient: read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e api.Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, &Error{Status: resp.StatusCode, Code: e.Code, Message: e.Error}
	}
	if out == nil {
		return resp.Header, nil
	}
	if raw, ok := out.(*rawBody); ok {
		*raw = data
		return resp.Header, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("apiclient: decode %s: %w", path, err)
	}
	return resp.Header, nil
}

func svcPath(name, rest string) string { return "/api/v1/services/" + url.PathEscape(name) + rest }

// Services lists every guarded service, page by page.
func (c *Client) Services(ctx context.Context) ([]controller.Status, error) {
	return c.AllServices(ctx, ServiceFilter{})
}

// Service returns one service's status.
func (c *Client) Service(ctx context.Context, name string) (controller.Status, error) {
	var out controller.Status
	return out, c.do(ctx, http.MethodGet, svcPath(name, ""), nil, &out)
}

// Decisions lists a service's recorded decisions, newest first.
// HA is the replicas and who acts for each shard; an *Error with status
// 404 from a single replica.
func (c *Client) HA(ctx context.Context) (ha.Status, error) {
	var out ha.Status
	return out, c.do(ctx, http.MethodGet, "/api/v1/ha", nil, &out)
}

func (c *Client) Decisions(ctx context.Context, name string) ([]store.Decision, error) {
	var out []store.Decision
	return out, c.do(ctx, http.MethodGet, svcPath(name, "/decisions"), nil, &out)
}

// Deploy activates version (adding it when url is given) and starts watching it.
func (c *Client) Deploy(ctx context.Context, name, version, url string) (controller.Status, error) {
	var out controller.Status
	return out, c.do(ctx, http.MethodPost, svcPath(name, "/deploy"), api.DeployRequest{Version: version, URL: url}, &out)
}

// Rollback reverts name by hand.
func (c *Client) Rollback(ctx context.Context, name, to, reason string) (api.RollbackResponse, error) {
	var out api.RollbackResponse
	return out, c.do(ctx, http.MethodPost, svcPath(name, "/rollback"), api.RollbackRequest{To: to, Reason: reason}, &out)
}

// Pause stops automatic actions for name.
func (c *Client) Pause(ctx context.Context, name string) (controller.Status, error) {
	var out controller.Status
	return out, c.do(ctx, http.MethodPost, svcPath(name, "/pause"), struct{}{}, &out)
}

// Resume re-enables automatic actions for name.
func (c *Client) Resume(ctx context.Context, name string) (controller.Status, error) {
	var out controller.Status
	return out, c.do(ctx, http.MethodPost, svcPath(name, "/resume"), struct{}{}, &out)
}

// Promote skips the remaining steps of name's canary.
func (c *Client) Promote(ctx context.Context, name string) (controller.Status, error) {
	var out controller.Status
	return out, c.do(ctx, http.MethodPost, svcPath(name, "/promote"), struct{}{}, &out)
}

// Abort sends name's canary traffic back to the stable version.
func (c *Client) Abort(ctx context.Context, name, reason string) (controller.Status, error) {
	var out controller.Status
	return out, c.do(ctx, http.MethodPost, svcPath(name, "/abort"), api.AbortRequest{Reason: reason}, &out)
}

// Drill runs a drill of name and waits for its report. A drill lasts as
// long as detection and verification take (drills.timeout and
// policy.verify), so it is bounded by ctx, not the client's 30 s.
func (c *Client) Drill(ctx context.Context, name string, req api.DrillRequest) (controller.DrillReport, error) {
	var out controller.DrillReport
	long := &http.Client{Transport: c.http.Transport}
	return out, c.doWith(ctx, long, http.MethodPost, svcPath(name, "/drill"), req, &out)
}

// PushSignals sends metrics the proxy cannot see (quality, toxicity).
func (c *Client) PushSignals(ctx context.Context, name string, req api.SignalsRequest) error {
	return c.do(ctx, http.MethodPost, svcPath(name, "/signals"), req, nil)
}

// Incidents lists incidents, newest first.
func (c *Client) Incidents(ctx context.Context, service string, openOnly bool) ([]incident.Incident, error) {
	q := url.Values{}
	if service != "" {
		q.Set("service", service)
	}
	if openOnly {
		q.Set("open", "true")
	}
	var out []incident.Incident
	return out, c.do(ctx, http.MethodGet, "/api/v1/incidents?"+q.Encode(), nil, &out)
}

// Incident returns one incident with its timeline.
func (c *Client) Incident(ctx context.Context, id string) (incident.Incident, error) {
	var out incident.Incident
	return out, c.do(ctx, http.MethodGet, "/api/v1/incidents/"+url.PathEscape(id), nil, &out)
}

// Note appends a note to an incident's timeline.
func (c *Client) Note(ctx context.Context, id, text string) (incident.Incident, error) {
	var out incident.Incident
	return out, c.do(ctx, http.MethodPost, "/api/v1/incidents/"+url.PathEscape(id)+"/notes", api.NoteRequest{Text: text}, &out)
}

// SetStatus moves an incident to status.
func (c *Client) SetStatus(ctx context.Context, id, status, note string) (incident.Incident, error) {
	var out incident.Incident
	return out, c.do(ctx, http.MethodPost, "/api/v1/incidents/"+url.PathEscape(id)+"/status", api.StatusRequest{Status: status, Note: note}, &out)
}

// Resolve closes an incident.
func (c *Client) Resolve(ctx context.Context, id, note string) (incident.Incident, error) {
	var out incident.Incident
	return out, c.do(ctx, http.MethodPost, "/api/v1/incidents/"+url.PathEscape(id)+"/resolve", api.NoteRequest{Text: note}, &out)
}
