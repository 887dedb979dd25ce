package replicastats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/proxystats"
)

const token = "s3cret-replica-token"

// halfFailing is a version that answers every other request 500.
func halfFailing(t *testing.T) string {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			http.Error(w, "broken", 500)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func okBackend(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newSwitch is a switch serving on loopback with versions good and bad,
// bad active.
func newSwitch(t *testing.T, good, bad string) (*proxy.Switch, string) {
	t.Helper()
	sw := proxy.New(proxy.Options{Service: "svc"})
	if err := sw.SetVersion("good", good); err != nil {
		t.Fatal(err)
	}
	if err := sw.SetVersion("bad", bad); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Activate("bad"); err != nil {
		t.Fatal(err)
	}
	return sw, serve(t, sw)
}

// serve runs sw on a loopback port until the test ends; it returns its URL.
func serve(t *testing.T, sw *proxy.Switch) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
		sw.Close()
	})
	return "http://" + ln.Addr().String()
}

func load(t *testing.T, base string, n int) {
	t.Helper()
	c := &http.Client{}
	for i := 0; i < n; i++ {
		resp, err := c.Get(base + "/x")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// leaderAPI serves a Receiver as the API server will.
func leaderAPI(t *testing.T, opts ReceiverOptions) (*Receiver, string) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = token
	}
	recv, err := NewReceiver(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+Path, recv)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return recv, srv.URL
}

// runSender runs a Sender for sw until the test ends.
func runSender(t *testing.T, sw *proxy.Switch, leader string) *Sender {
	t.Helper()
	s, err := NewSender(SenderOptions{Replica: "follower-1", Token: token, Leader: func() string { return leader }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add("svc", sw)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// until polls cond (the sender pushes every 100 ms) for up to 10 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func policy() detect.Policy {
	f := func(v float64) *float64 { return &v }
	return detect.Policy{Require: 1, Alpha: 0.01, Rules: []detect.Rule{
		{Metric: signal.ErrorRate, Max: f(0.05), Critical: f(0.25)},
		{Metric: signal.LatencyP99, Max: f(3000)},
	}}
}

// judge reads src as the controller does and folds it into g.
func judge(t *testing.T, g *detect.Guard, src *proxystats.Source, now time.Time) detect.Result {
	t.Helper()
	metrics := map[string][]float64{signal.ErrorRate: nil, signal.LatencyP99: g.Bounds(signal.LatencyP99)}
	got, err := src.ReadAll(context.Background(), signal.Query{Service: "svc", Version: "bad", Since: now.Add(-30 * time.Second), At: now}, metrics)
	if err != nil {
		t.Fatal(err)
	}
	ev := map[string]detect.Evidence{}
	for m, s := range got {
		ev[m] = detect.Evidence{Sample: s}
	}
	return g.Observe(now, ev)
}

// The bad version's traffic crosses only the follower's switch: the
// leader's own view stays without evidence, the merged one sees every
// request, and the guard on it calls the version degraded. Window and
// cumulative counts are the sum of both switches', and the latency bound
// the leader's guard tracks is counted by the follower too.
func TestFollowerTrafficReachesTheGuard(t *testing.T) {
	good, bad := okBackend(t), halfFailing(t)
	start := time.Now()
	leader, lbase := newSwitch(t, good, bad)
	follower, fbase := newSwitch(t, good, bad)
	recv, api := leaderAPI(t, ReceiverOptions{Self: "leader"})
	merged := recv.Stats("svc", leader)
	g := detect.NewGuard(policy(), start)
	leader.Track("bad", map[string][]float64{signal.LatencyP99: g.Bounds(signal.LatencyP99)})
	runSender(t, follower, api)

	until(t, "the follower counts the leader's bound", func() bool {
		lat, _ := follower.TrackedBounds("bad")
		return len(lat) == 1 && lat[0] == 3000
	})
	load(t, fbase, 200)

	local, all := proxystats.New(leader), proxystats.New(merged)
	var r detect.Result
	until(t, "the merged view holds the follower's 200 requests", func() bool {
		now := time.Now()
		return merged.Stats("bad", now.Add(-30*time.Second), now).Cumulative.Requests == 200
	})
	if done, _ := merged.Activity(); done < 200 {
		t.Errorf("merged activity %d after 200 follower requests: the trigger would think the service idle", done)
	}
	if done, _ := leader.Activity(); done != 0 {
		t.Errorf("leader's own activity %d", done)
	}
	now := time.Now()
	if lr := judge(t, detect.NewGuard(policy(), start), local, now); lr.Verdict == detect.Degraded || lr.Samples != 0 {
		t.Fatalf("leader's own switch, which carried nothing: %v on %d samples", lr.Verdict, lr.Samples)
	}
	r = judge(t, g, all, now)
	if r.Verdict != detect.Degraded {
		t.Fatalf("merged view of 50%% 5xx on the follower: %v: %s", r.Verdict, r.Reason)
	}
	t.Logf("merged: %v: %s", r.Verdict, r.Reason)

	// Both switches carry traffic: the leader's view is their sum.
	load(t, lbase, 60)
	until(t, "the merged view holds both switches' requests", func() bool {
		now := time.Now()
		return merged.Stats("bad", now.Add(-30*time.Second), now).Cumulative.Requests == 260
	})
	now = time.Now()
	since := now.Add(-30 * time.Second)
	m, l, f := merged.Stats("bad", since, now), leader.Stats("bad", since, now), follower.Stats("bad", since, now)
	if m.Requests != l.Requests+f.Requests || m.Errors != l.Errors+f.Errors || m.Status5xx != l.Status5xx+f.Status5xx || m.Requests != 260 {
		t.Errorf("window: merged %v, leader %v, follower %v", m, l, f)
	}
	mc, lc, fc := m.Cumulative, l.Cumulative, f.Cumulative
	if mc.Requests != lc.Requests+fc.Requests || mc.Errors != lc.Errors+fc.Errors || mc.Status5xx != lc.Status5xx+fc.Status5xx || !mc.Since.Equal(lc.Since) {
		t.Errorf("cumulative: merged %+v, leader %+v, follower %+v", mc, lc, fc)
	}
	mb, _ := mc.Bound(false, 3000)
	lb, _ := lc.Bound(false, 3000)
	fb, ok := fc.Bound(false, 3000)
	if !ok || mb.N != lb.N+fb.N || fb.N != 200 {
		t.Errorf("bound 3000: merged %+v, leader %+v, follower %+v", mb, lb, fb)
	}
	if reps := recv.Replicas(); len(reps) != 1 || reps[0].Replica != "follower-1" || !reps[0].Fresh || reps[0].Skew > time.Second || reps[0].Skew < -time.Second {
		t.Errorf("replicas %+v", reps)
	}
}

// A replica that stops reporting leaves the window after StaleAfter, on
// the receiver's clock; its counts stay (they must never go down within
// a watch), and come back to the window when it reports again.
func TestStaleReplicaLeavesTheWindow(t *testing.T) {
	good, bad := okBackend(t), halfFailing(t)
	leader, _ := newSwitch(t, good, bad)
	follower, fbase := newSwitch(t, good, bad)
	var clock struct {
		sync.Mutex
		at time.Time
	}
	clock.at = time.Now()
	now := func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.at }
	recv, api := leaderAPI(t, ReceiverOptions{Now: now})
	merged := recv.Stats("svc", leader)
	s, err := NewSender(SenderOptions{Replica: "f", Token: token, Leader: func() string { return api }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add("svc", follower)
	load(t, fbase, 20)
	if err := s.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	read := func() proxy.Snapshot { t := time.Now(); return merged.Stats("bad", t.Add(-30*time.Second), t) }
	if got := read(); got.Requests != 20 || got.Cumulative.Requests != 20 {
		t.Fatalf("fresh: %v, cumulative %+v", got, got.Cumulative)
	}
	// A guard folding the counts across the replica going quiet and
	// coming back sees its 20 requests once.
	g := detect.NewGuard(policy(), time.Now().Add(-time.Second))
	seen := func(when string) {
		t.Helper()
		r := judge(t, g, proxystats.New(merged), time.Now())
		for _, f := range r.Findings {
			if f.Metric == signal.ErrorRate && f.Seen != 20 {
				t.Fatalf("%s: the guard has seen %d requests, want the 20 once (%s)", when, f.Seen, f.Text)
			}
		}
	}
	seen("fresh")
	clock.Lock()
	clock.at = clock.at.Add(DefaultStaleAfter + time.Millisecond)
	clock.Unlock()
	if got := read(); got.Requests != 0 || got.Cumulative.Requests != 20 || got.Cumulative.Errors != 10 {
		t.Fatalf("stale: window %v, cumulative %+v: want an empty window and the 20 requests counted", got, got.Cumulative)
	}
	seen("stale")
	if reps := recv.Replicas(); len(reps) != 1 || reps[0].Fresh {
		t.Fatalf("replicas %+v", reps)
	}
	if err := s.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Requests != 20 || got.Cumulative.Requests != 20 {
		t.Fatalf("reporting again: %v, cumulative %+v", got, got.Cumulative)
	}
	seen("reporting again")
}

// The follower activates the version again (its generation restarts):
// the leader's counts go on growing from where they were, and a guard
// folding them sees every request once.
func TestFollowerGenerationRestart(t *testing.T) {
	good, bad := okBackend(t), halfFailing(t)
	leader, _ := newSwitch(t, good, bad)
	follower, fbase := newSwitch(t, good, bad)
	recv, api := leaderAPI(t, ReceiverOptions{})
	merged := recv.Stats("svc", leader)
	s, err := NewSender(SenderOptions{Replica: "f", Token: token, Leader: func() string { return api }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add("svc", follower)
	read := func() proxy.Cumulative {
		t := time.Now()
		return merged.Stats("bad", t.Add(-30*time.Second), t).Cumulative
	}
	load(t, fbase, 10)
	s.Push(context.Background())
	before := read()
	follower.Activate("good")
	follower.Activate("bad")
	if c := follower.Stats("bad", time.Now(), time.Now()).Cumulative; c.Requests != 0 {
		t.Fatalf("follower's generation did not restart: %+v", c)
	}
	s.Push(context.Background())
	if c := read(); c.Requests != before.Requests || c.Errors != before.Errors {
		t.Fatalf("after the follower's restart: %+v, before %+v: counts went down", c, before)
	}
	load(t, fbase, 6)
	if err := s.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := read(); c.Requests != 16 || c.Errors != 8 || !c.Since.Equal(before.Since) {
		t.Fatalf("after 6 more: %+v, want 16 requests, 8 errors since %v", c, before.Since)
	}
}

// Bad evidence on the follower's switch is pushed at once, not at the
// next interval (here an hour away).
func TestEvidencePushesAtOnce(t *testing.T) {
	good, bad := okBackend(t), halfFailing(t)
	leader, _ := newSwitch(t, good, bad)
	follower, fbase := newSwitch(t, good, bad)
	recv, api := leaderAPI(t, ReceiverOptions{})
	merged := recv.Stats("svc", leader)
	s, err := NewSender(SenderOptions{Replica: "f", Token: token, Interval: time.Hour, Leader: func() string { return api }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add("svc", follower)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	load(t, fbase, 2) // one 500: evidence
	select {
	case <-leader.Evidence(): // the receiver pokes the leader's controller too
	case <-time.After(10 * time.Second):
		t.Fatal("the leader's switch was never poked by the follower's evidence")
	}
	now := time.Now()
	if c := merged.Stats("bad", now.Add(-time.Minute), now).Cumulative; c.Requests != 2 || c.Errors != 1 {
		t.Fatalf("merged after the evidence push: %+v", c)
	}
	select {
	case <-follower.Evidence(): // the sender did not take the follower controller's poke
	default:
		t.Fatal("the sender consumed the follower switch's Evidence")
	}
}

// A new leader (another URL) is sent everything the switch still holds,
// not just what changed since the old leader's last acknowledgement.
func TestNewLeaderGetsEverything(t *testing.T) {
	good, bad := okBackend(t), halfFailing(t)
	leader, _ := newSwitch(t, good, bad)
	follower, fbase := newSwitch(t, good, bad)
	recvA, apiA := leaderAPI(t, ReceiverOptions{})
	recvB, apiB := leaderAPI(t, ReceiverOptions{})
	var cur atomic.Value
	cur.Store(apiA)
	s, err := NewSender(SenderOptions{Replica: "f", Token: token, Leader: func() string { return cur.Load().(string) }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add("svc", follower)
	load(t, fbase, 10)
	if err := s.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	load(t, fbase, 4)
	cur.Store(apiB)
	if err := s.Push(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for name, r := range map[string]*Receiver{"old leader": recvA, "new leader": recvB} {
		want := int64(14)
		if name == "old leader" {
			want = 10
		}
		if got := r.Stats("svc", leader).Stats("bad", now.Add(-time.Minute), now); got.Requests != want || got.Cumulative.Requests != want {
			t.Errorf("%s: window %d, cumulative %d requests, want %d", name, got.Requests, got.Cumulative.Requests, want)
		}
	}
}

// A replica whose clock is far from the leader's is shown with its skew
// and warned about (its slots would land at the wrong time).
func TestClockSkewShown(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	recv, api := leaderAPI(t, ReceiverOptions{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	body := fmt.Sprintf(`{"v":1,"replica":"f","at":%d,"services":[]}`, time.Now().Add(5*time.Second).UnixNano())
	req, _ := http.NewRequest(http.MethodPost, api+Path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	reps := recv.Replicas()
	if len(reps) != 1 || reps[0].Skew < 4*time.Second || reps[0].Skew > 5*time.Second {
		t.Fatalf("replicas %+v, want f 5 s ahead", reps)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "clock is far") {
		t.Fatalf("no warning: %s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A leader that takes the connection and never answers costs one push
// its Timeout, not a stuck sender; a sender stops with its context.
func TestHungLeaderBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	s, err := NewSender(SenderOptions{Replica: "f", Token: token, Timeout: 50 * time.Millisecond, Leader: func() string { return srv.URL }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add("svc", proxy.New(proxy.Options{Service: "svc"}))
	if err := s.Push(context.Background()); err == nil {
		t.Fatal("a push to a leader that never answers succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}
