package replicastats

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ripcord/ripcord/internal/proxy"
)

// BenchmarkPush is one steady-state push over loopback HTTP, the sender's
// report building and JSON and the leader's decode, validation and merge
// together (both run in this process): services share one switch that
// completed 20 requests since the last push, so each carries one changed
// version of a few slots; idle=true pushes with nothing changed (the
// heartbeat every follower sends each 100 ms).
func BenchmarkPush(b *testing.B) {
	good, bad := okBackendB(b), okBackendB(b)
	for _, services := range []int{1, 100, 1000} {
		for _, idle := range []bool{false, true} {
			b.Run(fmt.Sprintf("services=%d/idle=%v", services, idle), func(b *testing.B) {
				sw, base := benchSwitch(b, good, bad)
				recv, err := NewReceiver(ReceiverOptions{Token: token})
				if err != nil {
					b.Fatal(err)
				}
				var bytes atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					bytes.Add(r.ContentLength)
					recv.ServeHTTP(w, r)
				}))
				defer srv.Close()
				s, err := NewSender(SenderOptions{Replica: "f", Token: token, Leader: func() string { return srv.URL }})
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < services; i++ {
					name := fmt.Sprintf("svc-%d", i)
					s.Add(name, sw)
					recv.Stats(name, sw)
				}
				c := &http.Client{}
				s.Push(context.Background()) // the first, full one
				bytes.Store(0)
				pushes := 0
				for b.Loop() {
					if !idle {
						b.StopTimer()
						for range 20 {
							resp, err := c.Get(base + "/x")
							if err != nil {
								b.Fatal(err)
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						b.StartTimer()
					}
					if err := s.Push(context.Background()); err != nil {
						b.Fatal(err)
					}
					pushes++
				}
				b.ReportMetric(float64(bytes.Load())/float64(pushes), "bytes/push")
			})
		}
	}
}

func okBackendB(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	b.Cleanup(srv.Close)
	return srv.URL
}

func benchSwitch(b *testing.B, good, bad string) (*proxy.Switch, string) {
	sw := proxy.New(proxy.Options{Service: "svc"})
	sw.SetVersion("good", good)
	sw.SetVersion("bad", bad)
	sw.Activate("bad")
	ln := httptest.NewUnstartedServer(nil).Listener
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-done; sw.Close() })
	return sw, "http://" + ln.Addr().String()
}
