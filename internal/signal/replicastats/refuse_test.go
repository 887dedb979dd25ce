package replicastats

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/proxy"
)

// Without the token, with a wrong one, or as the leader itself, a
// report is refused; a malformed one is refused naming its field.
func TestReceiverRefuses(t *testing.T) {
	_, api := leaderAPI(t, ReceiverOptions{Self: "leader"})
	post := func(auth, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, api+Path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ok := `{"v":1,"replica":"f","services":[]}`
	for name, tc := range map[string]struct {
		auth, body string
		code       int
		has        string
	}{
		"no token":     {"", ok, 401, "bearer token"},
		"wrong token":  {"Bearer nope", ok, 401, "bearer token"},
		"basic":        {"Basic " + token, ok, 401, "bearer token"},
		"good":         {"Bearer " + token, ok, 200, `"instance"`},
		"self":         {"Bearer " + token, `{"v":1,"replica":"leader","services":[]}`, 409, "replica: leader is this replica"},
		"not json":     {"Bearer " + token, `{"v":1,`, 400, "body:"},
		"empty":        {"Bearer " + token, ``, 400, "body: empty"},
		"format":       {"Bearer " + token, `{"v":2,"replica":"f"}`, 400, "v: report format 2"},
		"no replica":   {"Bearer " + token, `{"v":1}`, 400, "replica: empty"},
		"type":         {"Bearer " + token, `{"v":1,"replica":7}`, 400, "replica: want string"},
		"deep type":    {"Bearer " + token, `{"v":1,"replica":"f","services":[{"service":"s","versions":[{"version":"v","from":1,"to":2,"slots":[{"i":"x"}]}]}]}`, 400, "services.versions.slots.i: want int64"},
		"no service":   {"Bearer " + token, `{"v":1,"replica":"f","services":[{"versions":[]}]}`, 400, "services[0].service: empty"},
		"odd pairs":    {"Bearer " + token, `{"v":1,"replica":"f","services":[{"service":"s","versions":[{"version":"v","from":1,"to":2,"slots":[{"i":2,"l":[1]}]}]}]}`, 400, "services[0].versions[0].slots[0].l: odd length"},
		"neg counts":   {"Bearer " + token, `{"v":1,"replica":"f","services":[{"service":"s","versions":[{"version":"v","from":1,"to":2,"cumulative":{"requests":-1}}]}]}`, 400, "services[0].versions[0].cumulative: negative"},
		"slot outside": {"Bearer " + token, `{"v":1,"replica":"f","services":[{"service":"s","versions":[{"version":"v","from":1,"to":2,"slots":[{"i":9,"l":[1,1]}]}]}]}`, 400, "services[0].versions[0].slots[0].i:"},
	} {
		code, body := post(tc.auth, tc.body)
		if code != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("%s: %d %s, want %d with %q", name, code, body, tc.code, tc.has)
		}
		if strings.Contains(body, token) {
			t.Errorf("%s: the answer shows the token: %s", name, body)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, api+Path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp, err)
	}
}

// A sender with the wrong token is refused and says so without the token.
func TestSenderRefused(t *testing.T) {
	_, api := leaderAPI(t, ReceiverOptions{})
	sw := proxy.New(proxy.Options{Service: "svc"})
	s, err := NewSender(SenderOptions{Replica: "f", Token: "wrong-token", Leader: func() string { return api }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add("svc", sw)
	err = s.Push(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("push with a wrong token: %v", err)
	}
	none, _ := NewSender(SenderOptions{Replica: "f", Token: token, Leader: func() string { return "" }})
	if err := none.Push(context.Background()); err != nil {
		t.Fatalf("no leader known: %v", err)
	}
	if _, err := NewReceiver(ReceiverOptions{}); err == nil {
		t.Fatal("a receiver without a token")
	}
}
