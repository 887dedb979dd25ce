package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/revert/retry"
)

// MLflow error codes ripcord acts on.
const (
	CodeNotFound     = "RESOURCE_DOES_NOT_EXIST"
	CodeInvalidParam = "INVALID_PARAMETER_VALUE"
)

const (
	apiPrefix = "/api/2.0/mlflow/"
	// attemptTimeout bounds one HTTP exchange, so a hung server costs a
	// retry rather than the whole operation.
	attemptTimeout = 10 * time.Second
	maxBody        = 4 << 20
	maxToken       = 16 << 10
)

// APIError is an error answer from MLflow: its HTTP status and the
// error_code and message of its JSON body.
type APIError struct {
	Method   string // GET, POST
	Endpoint string // e.g. registered-models/alias
	Status   int
	Code     string // error_code, e.g. RESOURCE_DOES_NOT_EXIST
	Message  string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	msg := e.Message
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return fmt.Sprintf("mlflow %s %s: HTTP %d %s: %s", e.Method, e.Endpoint, e.Status, code, msg)
}

// Is makes errors.Is(err, ErrNotFound) true for RESOURCE_DOES_NOT_EXIST.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Code == CodeNotFound
}

// call makes one API call with retries (network errors, 429, 5xx),
// decoding a 2xx answer into out.
func (t *Target) call(ctx context.Context, method, endpoint string, q url.Values, in, out any) error {
	return t.retry.Do(ctx, func(ctx context.Context) error {
		return t.attempt(ctx, method, endpoint, q, in, out)
	})
}

func (t *Target) attempt(ctx context.Context, method, endpoint string, q url.Values, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	token, err := t.token()
	if err != nil {
		return err
	}
	req, err := t.request(ctx, method, endpoint, q, in, token)
	if err != nil {
		return err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL holds the query; keep only the cause
		}
		return retry.Again(fmt.Errorf("mlflow %s %s: %w", method, endpoint, err), 0)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return retry.Again(fmt.Errorf("mlflow %s %s: reading answer: %w", method, endpoint, err), 0)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := decodeError(method, endpoint, resp.StatusCode, body, token)
		if retry.Status(resp.StatusCode) {
			return retry.Again(apiErr, retry.After(resp.Header, time.Now()))
		}
		return apiErr
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("mlflow %s %s: answer is not the documented JSON: %w", method, endpoint, err)
		}
	}
	return nil
}

func (t *Target) request(ctx context.Context, method, endpoint string, q url.Values, in any, token string) (*http.Request, error) {
	u := t.cfg.URL + apiPrefix + endpoint
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("mlflow %s %s: encoding request: %w", method, endpoint, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("mlflow %s %s: cannot build the request", method, endpoint)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ripcord")
	if in != nil {
		req.Header.Set("Content-Type", "application/json") // MLflow requires it on POST
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// decodeError reads MLflow's {"error_code", "message"} body, scrubbing
// the token in case a proxy echoes the request.
func decodeError(method, endpoint string, status int, body []byte, token string) *APIError {
	var wire struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	e := &APIError{Method: method, Endpoint: endpoint, Status: status}
	if json.Unmarshal(body, &wire) == nil && wire.Code != "" {
		e.Code, e.Message = wire.Code, wire.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	if token != "" {
		e.Code = strings.ReplaceAll(e.Code, token, "<redacted>")
		e.Message = strings.ReplaceAll(e.Message, token, "<redacted>")
	}
	return e
}

// token reads token_file afresh, so a rotated token is used at once.
// Errors name the file, never its content.
func (t *Target) token() (string, error) {
	if t.cfg.TokenFile == "" {
		return "", nil
	}
	f, err := os.Open(string(t.cfg.TokenFile))
	if err != nil {
		return "", fmt.Errorf("mlflow: token_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxToken+1))
	if err != nil {
		return "", fmt.Errorf("mlflow: token_file %s: %w", t.cfg.TokenFile, err)
	}
	tok := strings.TrimSpace(string(b))
	switch {
	case len(b) > maxToken:
		return "", fmt.Errorf("mlflow: token_file %s is over %d bytes: is it the right file?", t.cfg.TokenFile, maxToken)
	case tok == "":
		return "", fmt.Errorf("mlflow: token_file %s is empty: put the bearer token in it", t.cfg.TokenFile)
	case strings.ContainsAny(tok, "\r\n"):
		return "", fmt.Errorf("mlflow: token_file %s holds more than one line: it must hold only the token", t.cfg.TokenFile)
	}
	return tok, nil
}

// millis is an MLflow int64 timestamp (milliseconds since the epoch),
// which servers send as a JSON number or, proto3-style, as a string.
type millis int64

func (m *millis) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	*m = millis(n)
	return err
}

func (m millis) time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m))
}
