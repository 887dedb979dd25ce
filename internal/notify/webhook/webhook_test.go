package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/notifytest"
)

var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789ABCDEF"))

type delivery struct {
	Header http.Header
	Body   []byte
}

// receiver verifies every delivery with the independent verifier and
// answers 401 to a bad signature, else the next queued status (default
// 204).
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	now      func() time.Time
	mu       sync.Mutex
	got      []delivery
	statuses []int
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	r := &receiver{t: t, now: now}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{req.Header.Clone(), body})
		status := http.StatusNoContent
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		if err := verify(testSecret, req.Header, body, r.now()); err != nil {
			t.Errorf("receiver: %v", err)
			status = http.StatusUnauthorized
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

var at = time.Date(2025, 3, 1, 12, 0, 0, 123000000, time.UTC)

func msg(u notify.Update, seq int64) notify.Message {
	return notify.Message{
		Update: u, IncidentID: "inc-42", Service: "checkout", Kind: incident.KindRollback,
		Severity: incident.Major, Status: incident.Investigating, Title: "checkout error rate 9.1%",
		Reason: "error_rate 9.1% > 2% for 3m", From: "v2.4.0", To: "v2.3.9", At: at, Seq: seq,
		Event: &incident.Event{At: at, Type: incident.EvDetected, Actor: "ripcord", Message: "bad"},
	}
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func mustNew(t *testing.T, cfg Config, opts ...Option) *Notifier {
	t.Helper()
	n, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func TestCloudEventWireFormat(t *testing.T) {
	now := time.Unix(1740830400, 0)
	r := newReceiver(t, fixedClock(now))
	n := mustNew(t, Config{URL: r.srv.URL + "/hook", Secret: notify.Secret(testSecret)}, WithClock(fixedClock(now)))
	m := msg(notify.Updated, 7)
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	d := r.deliveries()[0]
	for k, want := range map[string]string{
		"Content-Type":      "application/cloudevents+json",
		"webhook-id":        "ripcord-inc-42-7",
		"webhook-timestamp": "1740830400",
	} {
		if got := d.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(d.Header.Get("webhook-signature"), "v1,") {
		t.Errorf("webhook-signature = %q", d.Header.Get("webhook-signature"))
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev) != 8 {
		t.Errorf("event has %d attributes, want 8: %s", len(ev), d.Body)
	}
	for k, want := range map[string]string{
		"specversion":     `"1.0"`,
		"id":              `"ripcord-inc-42-7"`,
		"source":          `"ripcord/checkout"`,
		"type":            `"dev.ripcord.incident.updated"`,
		"subject":         `"inc-42"`,
		"time":            `"2025-03-01T12:00:00.123Z"`,
		"datacontenttype": `"application/json"`,
	} {
		if string(ev[k]) != want {
			t.Errorf("%s = %s, want %s", k, ev[k], want)
		}
	}
	wantData, _ := json.Marshal(m)
	if !bytes.Equal(ev["data"], wantData) {
		t.Errorf("data = %s\nwant %s", ev["data"], wantData)
	}
	var back notify.Message
	if err := json.Unmarshal(ev["data"], &back); err != nil || back.IncidentID != "inc-42" || back.Seq != 7 || back.Event.Type != "detected" {
		t.Errorf("data does not decode back to the message: %v %+v", err, back)
	}
}

func TestTamperedDeliveryIsRejected(t *testing.T) {
	now := time.Unix(1740830400, 0)
	r := newReceiver(t, fixedClock(now))
	n := mustNew(t, Config{URL: r.srv.URL, Secret: notify.Secret(testSecret)}, WithClock(fixedClock(now)))
	if err := n.Notify(context.Background(), msg(notify.Opened, 1)); err != nil {
		t.Fatal(err)
	}
	d := r.deliveries()[0]
	if err := verify(testSecret, d.Header, d.Body, now); err != nil {
		t.Fatalf("genuine delivery rejected: %v", err)
	}
	body := bytes.Replace(d.Body, []byte(`"severity":"major"`), []byte(`"severity":"minor"`), 1)
	if bytes.Equal(body, d.Body) {
		t.Fatal("tampering did not change the body")
	}
	if err := verify(testSecret, d.Header, body, now); err == nil {
		t.Error("tampered body accepted")
	}
	h := d.Header.Clone()
	h.Set("webhook-id", "ripcord-inc-42-2")
	if err := verify(testSecret, h, d.Body, now); err == nil {
		t.Error("changed webhook-id accepted")
	}
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret of enough length!"))
	if err := verify(other, d.Header, d.Body, now); err == nil {
		t.Error("signature verified under another secret")
	}
}

func TestRetriedDeliveryKeepsItsID(t *testing.T) {
	clock := time.Unix(1740830400, 0)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	r := newReceiver(t, now)
	r.statuses = []int{http.StatusServiceUnavailable}
	n := mustNew(t, Config{URL: r.srv.URL, Secret: notify.Secret(testSecret)}, WithClock(now))
	m := msg(notify.Resolved, 9)
	err := n.Notify(context.Background(), m)
	if ok, _ := notify.IsRetryable(err); !ok {
		t.Fatalf("first attempt: %v, want retryable 503", err)
	}
	mu.Lock()
	clock = clock.Add(30 * time.Second)
	mu.Unlock()
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), msg(notify.Resolved, 10)); err != nil {
		t.Fatal(err)
	}
	ds := r.deliveries()
	a, b, c := ds[0], ds[1], ds[2]
	if a.Header.Get("webhook-id") != b.Header.Get("webhook-id") || !bytes.Equal(a.Body, b.Body) {
		t.Errorf("retry changed the id or body: %s vs %s", a.Header.Get("webhook-id"), b.Header.Get("webhook-id"))
	}
	if a.Header.Get("webhook-timestamp") == b.Header.Get("webhook-timestamp") {
		t.Error("retry reused the old timestamp; it should be signed afresh")
	}
	if c.Header.Get("webhook-id") == a.Header.Get("webhook-id") {
		t.Error("a different update got the same id")
	}
}

func TestRetryClassification(t *testing.T) {
	notifytest.RetryClassification(t, "webhook POST", func(t *testing.T, base string) error {
		return mustNew(t, Config{URL: base, Secret: notify.Secret(testSecret)}).Notify(context.Background(), msg(notify.Opened, 1))
	}, testSecret, strings.TrimPrefix(testSecret, "whsec_"))
}

func TestSecretsNeverInErrors(t *testing.T) {
	const pathToken = "tok-PaThSeCrEt"
	const queryToken = "QuErYsEcReT"
	secrets := []string{testSecret, strings.TrimPrefix(testSecret, "whsec_"), pathToken, queryToken}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, s := range secrets {
			if strings.Contains(fmt.Sprintf("%v %+v", err, err), s) {
				t.Errorf("%s: error leaks %q: %v", what, s, err)
			}
		}
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request to %s with secret %s", r.URL.RequestURI(), testSecret)
	}))
	defer echo.Close()
	ctx := context.Background()
	suffix := "/hooks/" + pathToken + "?token=" + queryToken
	check("HTTP 400", mustNew(t, Config{URL: echo.URL + suffix, Secret: notify.Secret(testSecret)}).Notify(ctx, msg(notify.Opened, 1)))

	dead := httptest.NewServer(http.NotFoundHandler())
	n := mustNew(t, Config{URL: dead.URL + suffix, Secret: notify.Secret(testSecret)})
	dead.Close()
	check("connection refused", n.Notify(ctx, msg(notify.Opened, 1)))
	// A local listener that accepts and never answers: the timeout path,
	// without sending packets off this machine.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	slow := mustNew(t, Config{URL: "http://" + hang.Addr().String() + suffix, Secret: notify.Secret(testSecret), Timeout: 50 * time.Millisecond})
	check("timeout", slow.Notify(ctx, msg(notify.Opened, 1)))

	_, err = New(Config{URL: "::" + suffix, Secret: notify.Secret(testSecret + "!!")})
	check("New", err)

	cfg := Config{URL: "https://user:pw@example.com" + suffix, Secret: notify.Secret(testSecret)}
	notifytest.CheckNotPrinted(t, secrets[:2], cfg)
	// The URL's path, query and password are for String and LogValue to
	// hide (json.Marshal of a Config shows its url).
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("webhook", "config", cfg)
	out := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, logs.String())
	for _, s := range append(secrets, "pw") {
		if strings.Contains(out, s) {
			t.Errorf("printed config leaks %q: %s", s, out)
		}
	}
}

// TestURLCredentialsScrubbedFromEchoes: Go sends a URL's userinfo as
// Authorization: Basic base64(user:password); a 400 that echoes the request
// must not put that, nor the password, into the error (and so the log, the
// timeline and the report).
func TestURLCredentialsScrubbedFromEchoes(t *testing.T) {
	const user, password = "hookuser", "pA55-w0rd_9"
	creds := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	notifytest.EchoedSecretsRedacted(t, []int{http.StatusBadRequest, http.StatusUnauthorized}, func(t *testing.T, base string) error {
		u := strings.Replace(base, "http://", "http://"+user+":"+password+"@", 1) + "/hook?sig=QuErYsIg"
		return mustNew(t, Config{URL: u, Secret: notify.Secret(testSecret)}).Notify(context.Background(), msg(notify.Opened, 1))
	}, password, creds, strings.TrimRight(creds, "="), "QuErYsIg", testSecret)
}
