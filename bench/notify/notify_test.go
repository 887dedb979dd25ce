// Package notify_bench measures notification latency and delivery through a
// receiver outage. Runs only with RIPCORD_BENCH=1 (bench/notify/run.sh).
package notify_bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify/pagerduty"
	"github.com/ripcord/ripcord/internal/notify/slack"
	"github.com/ripcord/ripcord/internal/notify/webhook"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/testenv"
)

// receiver imitates the three services' wire formats well enough to count:
// a Standard Webhooks endpoint, PagerDuty's /v2/enqueue and Slack's
// chat.postMessage / chat.update.
type receiver struct {
	down atomic.Bool
	mu   sync.Mutex
	// first arrival per incident, webhook ids seen, PagerDuty dedup keys,
	// Slack top-level posts and updates
	first    map[string]time.Time
	hookIDs  map[string]int
	pdKeys   map[string]int
	slackTop int
	slackUpd int
	srv      *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{first: map[string]time.Time{}, hookIDs: map[string]int{}, pdKeys: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case strings.HasPrefix(req.URL.Path, "/hook"):
		id := req.Header.Get("webhook-id")
		r.hookIDs[id]++
		r.arrived(id)
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(req.URL.Path, "/v2/enqueue"):
		var ev struct {
			DedupKey string `json:"dedup_key"`
		}
		_ = json.Unmarshal(body, &ev)
		r.pdKeys[ev.DedupKey]++
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"`+ev.DedupKey+`"}`)
	case strings.HasPrefix(req.URL.Path, "/api/chat."):
		form, _ := url.ParseQuery(string(body))
		if strings.HasSuffix(req.URL.Path, "postMessage") && form.Get("thread_ts") == "" {
			r.slackTop++
		} else {
			r.slackUpd++
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"ok":true,"channel":"C1","ts":"%d.000100"}`, time.Now().UnixNano())
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// arrived notes the first delivery for an incident (ids are ripcord-INC-N-seq).
func (r *receiver) arrived(id string) {
	parts := strings.Split(id, "-")
	if len(parts) >= 3 {
		inc := parts[1] + "-" + parts[2]
		if _, ok := r.first[inc]; !ok {
			r.first[inc] = time.Now()
		}
	}
}

func gate(t *testing.T) {
	testenv.Measurement(t, "run bench/notify/run.sh")
}

// backend fails half its requests while bad is set.
func backend(t *testing.T, bad *atomic.Bool) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if bad.Load() && time.Now().UnixNano()%2 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func daemon(t *testing.T, recv *receiver, v1URL string) *app.App {
	dir := t.TempDir()
	for name, secret := range map[string]string{"hook": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "pd": "R0UT1NGKEY00000000000000000000AB", "slack": "xoxb-bench-token"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pol := config.DefaultPolicy()
	pol.Cooldown, pol.Verify = time.Millisecond, time.Second // rollbacks back to back
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0"}, BaseDir: dir,
		Store:    config.Store{URL: "sqlite://" + filepath.Join(dir, "r.db")},
		Reports:  config.Reports{Dir: filepath.Join(dir, "reports")},
		Services: []config.Service{{Name: "svc", Proxy: config.Proxy{Listen: "127.0.0.1:0"}, Active: "v1", Policy: pol, Versions: []config.Version{{Name: "v1", URL: v1URL}}}},
		Notify: config.Notify{
			Channels: []config.Channel{
				{Name: "hooks", Providers: []config.Block{config.BlockOf("webhook",
					webhook.Config{URL: recv.srv.URL + "/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})}},
				{Name: "pager", Providers: []config.Block{config.BlockOf("pagerduty",
					pagerduty.Config{URL: recv.srv.URL, RoutingKey: "R0UT1NGKEY00000000000000000000AB"})}},
				{Name: "slack", Providers: []config.Block{config.BlockOf("slack",
					slack.Config{APIURL: recv.srv.URL, Token: "xoxb-bench-token", Channel: "#incidents"})}},
			},
			Routes: []config.Route{{Channel: "hooks"}, {Channel: "pager"}, {Channel: "slack"}},
		}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

func load(ctx context.Context, url string) {
	c := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		<-tick.C
		go func() {
			if resp, err := c.Get(url); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
}

// rollbackOnce deploys a bad version and waits until it is verified reverted.
func rollbackOnce(t *testing.T, a *app.App, n int, bad *atomic.Bool) string {
	bad.Store(true)
	svc := a.Service("svc")
	v := fmt.Sprintf("bad%d", n)
	if err := svc.Deploy(context.Background(), v, badURL, "bench"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for svc.Status().Active == v || svc.Status().State != "stable" {
		if time.Now().After(deadline) {
			t.Fatalf("no verified rollback of %s: %+v", v, svc.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	incs, _ := a.Store().ListIncidents(context.Background(), store.IncidentFilter{Service: "svc", Limit: 1})
	return incs[0].ID
}

var badURL string

func eventAt(inc incident.Incident, typ string) time.Time {
	for _, e := range inc.Events {
		if e.Type == typ {
			return e.At
		}
	}
	return time.Time{}
}

func TestNotificationLatencyAndOutage(t *testing.T) {
	gate(t)
	outage := 10 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("OUTAGE")); err == nil {
		outage = d
	}
	var good, bad atomic.Bool
	v1 := backend(t, &good)
	badURL = backend(t, &bad).URL
	recv := newReceiver(t)
	a := daemon(t, recv, v1.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go load(ctx, "http://"+a.ProxyAddr("svc")+"/")
	time.Sleep(2 * time.Second)

	// 1. Latency with every receiver up.
	id := rollbackOnce(t, a, 1, &bad)
	time.Sleep(2 * time.Second)
	inc, _ := a.Store().GetIncident(context.Background(), id)
	recv.mu.Lock()
	first := recv.first[id]
	recv.mu.Unlock()
	fmt.Printf("decision → first notification at the receiver: %v\n", first.Sub(inc.DetectedAt).Round(time.Microsecond))
	fmt.Printf("rollback done → first notification: %v\n",
		first.Sub(eventAt(inc, incident.EvRollbackDone)).Round(time.Microsecond))
	fmt.Printf("verified → report written: %v\n", eventAt(inc, incident.EvReport).Sub(eventAt(inc, incident.EvVerified)).Round(time.Microsecond))

	// 2. Receivers down for the outage while rollbacks keep happening.
	recv.down.Store(true)
	end := time.Now().Add(outage)
	n := 1
	for time.Now().Before(end) {
		n++
		rollbackOnce(t, a, n, &bad)
		time.Sleep(min(outage/5, time.Until(end)))
	}
	recv.down.Store(false)
	start := time.Now()
	incs, _ := a.Store().ListIncidents(context.Background(), store.IncidentFilter{Service: "svc", Limit: 1000})
	deadline := time.Now().Add(10 * time.Minute)
	for {
		recv.mu.Lock()
		done := len(recv.pdKeys) == len(incs) && len(recv.first) == len(incs) && recv.slackTop >= len(incs)
		recv.mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // let stragglers arrive, to count duplicates
	recv.mu.Lock()
	defer recv.mu.Unlock()
	dupHooks := 0
	for _, c := range recv.hookIDs {
		dupHooks += c - 1
	}
	fmt.Printf("outage %v: %d incidents; after recovery (%v) webhook: %d incidents reached, %d duplicate ids; PagerDuty: %d dedup keys for %d incidents; Slack: %d top-level messages (one per incident), %d updates\n",
		outage, len(incs), time.Since(start).Round(time.Millisecond), len(recv.first), dupHooks, len(recv.pdKeys), len(incs), recv.slackTop, recv.slackUpd)
	if dupHooks != 0 || len(recv.pdKeys) != len(incs) || recv.slackTop != len(incs) || len(recv.first) != len(incs) {
		t.Errorf("lost or duplicated notifications")
	}
}
