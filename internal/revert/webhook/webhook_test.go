package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/revert/retry"
)

var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("revert-signing-key-0123456789abcdef"))

var fast = retry.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 4}

// verify is the receiver's check, written from the Standard Webhooks spec
// (not from the signing code): HMAC-SHA256 over "id.timestamp.body" with
// the base64-decoded secret after "whsec_", compared against each
// space-separated "v1,<base64>" entry, with a 5-minute tolerance.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp outside tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	for _, s := range strings.Fields(sigs) {
		v, sig, _ := strings.Cut(s, ",")
		if got, err := base64.StdEncoding.DecodeString(sig); v == "v1" && err == nil && hmac.Equal(got, mac.Sum(nil)) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

type delivery struct {
	header http.Header
	body   []byte
}

// receiver verifies every delivery and answers the queued statuses, then
// 200 with a short message.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      []delivery
	statuses []int
	after    string // Retry-After on queued answers
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{req.Header.Clone(), body})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
			if r.after != "" {
				w.Header().Set("Retry-After", r.after)
			}
		}
		r.mu.Unlock()
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("receiver: %s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
		}
		if err := verify(testSecret, req.Header, body, time.Now()); err != nil {
			t.Errorf("receiver: %v", err)
			status = http.StatusUnauthorized
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "switch to %s queued", req.Header.Get("webhook-id"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func secretFile(t *testing.T, content string) field.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "revert.secret")
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return field.File(p)
}

func newTarget(t *testing.T, url string, opts ...Option) *Target {
	t.Helper()
	tg, err := New(Config{URL: url, SecretFile: secretFile(t, testSecret)}, append([]Option{WithRetry(fast), WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

var req42 = revert.Request{Service: "summarizer", From: "v2", To: "v1", Reason: "error_rate 9.1% > 5%", DecisionID: 42}

func TestSignedPostPerRevert(t *testing.T) {
	r := newReceiver(t)
	tg := newTarget(t, r.srv.URL+"/hooks/revert")
	res, err := tg.Revert(context.Background(), req42)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "v2" || res.To != "v1" || res.Output != "switch to ripcord-revert-42 queued" || res.Duration <= 0 {
		t.Errorf("result %+v", res)
	}
	ds := r.deliveries()
	if len(ds) != 1 {
		t.Fatalf("%d deliveries", len(ds))
	}
	var got map[string]any
	if err := json.Unmarshal(ds[0].body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"service": "summarizer", "from": "v2", "to": "v1", "reason": "error_rate 9.1% > 5%", "decision_id": float64(42)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("body %s, want %v", ds[0].body, want)
	}
	if id := ds[0].header.Get("webhook-id"); id != "ripcord-revert-42" {
		t.Errorf("webhook-id %q", id)
	}
	if err := verify("whsec_"+base64.StdEncoding.EncodeToString([]byte("another-key-of-enough-length!!")), ds[0].header, ds[0].body, time.Now()); err == nil {
		t.Error("the signature verifies under another secret")
	}
	if st, _ := tg.Status(context.Background()); st.Current != "v1" {
		t.Errorf("status %q", st.Current)
	}
}

func TestRetriesKeepTheKeyAndSignAfresh(t *testing.T) {
	r := newReceiver(t)
	r.statuses = []int{http.StatusServiceUnavailable, http.StatusRequestTimeout, http.StatusTooManyRequests}
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(10 * time.Second); return clock }
	tg := newTarget(t, r.srv.URL, WithClock(now))
	if _, err := tg.Revert(context.Background(), req42); err != nil {
		t.Fatal(err)
	}
	ds := r.deliveries()
	if len(ds) != 4 {
		t.Fatalf("%d attempts, want 4", len(ds))
	}
	for i, d := range ds[1:] {
		if d.header.Get("webhook-id") != ds[0].header.Get("webhook-id") || !bytes.Equal(d.body, ds[0].body) {
			t.Errorf("attempt %d changed the id or body", i+2)
		}
		if d.header.Get("webhook-timestamp") == ds[i].header.Get("webhook-timestamp") {
			t.Errorf("attempt %d reused the timestamp: a retry is signed afresh", i+2)
		}
	}
	// The same decision re-run after a crash is the same delivery.
	if _, err := tg.Revert(context.Background(), req42); err != nil {
		t.Fatal(err)
	}
	if d := r.deliveries()[4]; d.header.Get("webhook-id") != "ripcord-revert-42" || !bytes.Equal(d.body, ds[0].body) {
		t.Error("a re-run of the same decision is not recognisable as one")
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	r := newReceiver(t)
	r.statuses, r.after = []int{http.StatusTooManyRequests}, "1"
	tg := newTarget(t, r.srv.URL)
	start := time.Now()
	if _, err := tg.Revert(context.Background(), req42); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: never sooner than the server asked.
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried after %v despite Retry-After: 1", took)
	}
}

func TestPermanentFailureEscalates(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 410, 422, 302} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			r := newReceiver(t)
			r.statuses = []int{status}
			tg := newTarget(t, r.srv.URL)
			_, err := tg.Revert(context.Background(), req42)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d", status)) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
			if n := len(r.deliveries()); n != 1 {
				t.Errorf("a permanent %d was tried %d times", status, n)
			}
			if st, _ := tg.Status(context.Background()); st.Current != "" {
				t.Errorf("a refused revert set status %q", st.Current)
			}
		})
	}
	r := newReceiver(t)
	r.statuses = []int{503, 503, 503, 503}
	_, err := newTarget(t, r.srv.URL).Revert(context.Background(), req42)
	if err == nil || errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "HTTP 503 (gave up after 4 attempts)") {
		t.Errorf("503s: %v", err)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	other := req42
	other.DecisionID = 43
	noID := req42
	noID.DecisionID = 0
	noID2 := noID
	noID2.To = "v0"
	if ID(req42) == ID(other) || ID(noID) != ID(noID) || ID(noID) == ID(noID2) || ID(noID) == ID(req42) {
		t.Errorf("ids %s %s %s %s", ID(req42), ID(other), ID(noID), ID(noID2))
	}
	if !strings.HasPrefix(ID(noID), "ripcord-revert-") || len(ID(noID)) != len("ripcord-revert-")+24 {
		t.Errorf("content id %q", ID(noID))
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	r := newReceiver(t)
	tg := newTarget(t, r.srv.URL)
	if res, err := tg.Revert(context.Background(), revert.Request{From: "v2", To: "v1", DryRun: true}); err != nil || !res.DryRun {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := tg.Revert(context.Background(), revert.Request{From: "v2"}); !errors.Is(err, revert.ErrNothingToRevert) {
		t.Errorf("empty to: %v", err)
	}
	if n := len(r.deliveries()); n != 0 {
		t.Errorf("%d deliveries", n)
	}
}

func TestSecretsNeverInErrorsOrOutput(t *testing.T) {
	const pathToken = "tok-PaThSeCrEt"
	const queryToken = "QuErYsEcReT"
	secrets := []string{testSecret, strings.TrimPrefix(testSecret, "whsec_"), pathToken, queryToken}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request to %s, we know your secret %s", r.URL.RequestURI(), testSecret)
	}))
	defer echo.Close()
	suffix := "/hooks/" + pathToken + "?token=" + queryToken
	var logs bytes.Buffer
	tg := newTarget(t, echo.URL+suffix, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	res, err := tg.Revert(context.Background(), req42)
	dead := newTarget(t, "http://127.0.0.1:1"+suffix)
	_, deadErr := dead.Revert(context.Background(), req42)
	out := fmt.Sprintf("%v %v %s %s %v %s", err, deadErr, res.Output, logs.String(), tg, tg)
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("leaks %q: %s", s, out)
		}
	}
	if err == nil || deadErr == nil || !strings.Contains(res.Output, "we know your secret <redacted>") {
		t.Errorf("err %v, dead %v, output %q", err, deadErr, res.Output)
	}
	for content, want := range map[string]string{"": "secret is required", "whsec_!!!": "not whsec_ followed by standard base64", "whsec_c2hvcnQ=": "decodes to 5 bytes"} {
		p := secretFile(t, content)
		_, err := New(Config{URL: "https://x", SecretFile: field.File(p)})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), string(p)) {
			t.Errorf("%q: %v", content, err)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"url is not an absolute", "secret_file is required"}},
		{Config{URL: "deployer/hook", SecretFile: "hook.secret", Timeout: -1}, []string{"url is not", "secret_file \"hook.secret\" is not absolute", "timeout -1ns is negative"}},
	} {
		err := tc.cfg.Validate()
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", tc.cfg, err, w)
			}
		}
	}
	if _, err := New(Config{URL: "https://x", SecretFile: "/nonexistent/secret"}); err == nil || !strings.Contains(err.Error(), "secret_file") {
		t.Errorf("missing file: %v", err)
	}
}
