package replicastats

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/proxystats"
)

// graded is a backend grading every answer in X-Quality-Score.
func graded(t *testing.T, score string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Quality-Score", score)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFollowerHeaderSignalsReachTheLeader: answers graded in a response
// header that crossed only a follower's switch reach the leader's header
// source, which averages them with its own switch's: a quality judged on
// one replica's traffic would miss a bad version the users of the others
// see.
func TestFollowerHeaderSignalsReachTheLeader(t *testing.T) {
	headers := map[string]string{"quality_score": "X-Quality-Score"}
	leader, lbase := newHeaderSwitch(t, headers, graded(t, "0.9"))
	follower, fbase := newHeaderSwitch(t, headers, graded(t, "0.3"))
	recv, api := leaderAPI(t, ReceiverOptions{Self: "leader"})
	merged := recv.Stats("svc", leader)
	runSender(t, follower, api)
	src := proxystats.NewHeaders()
	src.Add("svc", merged)

	load(t, fbase, 30)
	load(t, lbase, 10)
	read := func() signal.Sample {
		now := time.Now()
		s, err := src.Read(context.Background(), signal.Query{Service: "svc", Version: "v", Metric: "quality_score", Since: now.Add(-30 * time.Second), At: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	until(t, "the follower's 30 graded answers reach the leader", func() bool { return read().Samples == 40 })
	if s := read(); s.Value < 0.449 || s.Value > 0.451 {
		t.Errorf("merged quality %.4f over %d answers, want (30 x 0.3 + 10 x 0.9) / 40 = 0.45", s.Value, s.Samples)
	}
	now := time.Now()
	if mean, n, _ := leader.HeaderSignal("v", "quality_score", now.Add(-30*time.Second), now); n != 10 || mean < 0.899 || mean > 0.901 {
		t.Errorf("the leader's own switch: %.2f over %d", mean, n)
	}
}

// newHeaderSwitch is a switch reading headers, with version v active on url.
func newHeaderSwitch(t *testing.T, headers map[string]string, url string) (*proxy.Switch, string) {
	t.Helper()
	sw := proxy.New(proxy.Options{Service: "svc", Headers: headers})
	if err := sw.SetVersion("v", url); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Activate("v"); err != nil {
		t.Fatal(err)
	}
	return sw, serve(t, sw)
}
