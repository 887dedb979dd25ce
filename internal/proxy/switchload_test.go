package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/testenv"
)

// TestSwitchingUnderSustainedLoad is the measurement behind "zero-error
// switching": 32 keep-alive clients plus long streaming responses, 100
// switches back and forth 20 ms apart. It prints the rate reached and the
// errors the backends did not return themselves (there must be none), and
// runs only with RIPCORD_BENCH=1 because it loads the machine for seconds.
func TestSwitchingUnderSustainedLoad(t *testing.T) {
	testenv.Measurement(t, "100 switches under sustained load")
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stream" { // an LLM-style token stream: 20 chunks over 400 ms
				w.Header().Set("Content-Type", "text/event-stream")
				for i := range 20 {
					fmt.Fprintf(w, "data: %s %d\n\n", name, i)
					w.(http.Flusher).Flush()
					time.Sleep(20 * time.Millisecond)
				}
				return
			}
			_, _ = io.WriteString(w, name)
		}
	}
	blue, green := newBackend(t, handler("blue")), newBackend(t, handler("green"))
	sw := newTestSwitch(t, Options{}, "blue", blue.URL, "green", green.URL)
	base := serve(t, sw)
	var ok, foreign, streams, brokenStreams atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 36 {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			stream := i >= 32 // 4 clients read long streams back to back
			for {
				select {
				case <-stop:
					return
				default:
				}
				path := "/"
				if stream {
					path = "/stream"
				}
				resp, err := c.Get(base + path)
				if err != nil {
					foreign.Add(1)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil || resp.StatusCode != 200:
					foreign.Add(1)
				case stream:
					streams.Add(1)
					// every chunk from the version the stream started on
					first := strings.Fields(string(body))[1]
					if strings.Count(string(body), "data: "+first) != 20 {
						brokenStreams.Add(1)
					}
				default:
					ok.Add(1)
				}
			}
		})
	}
	start := time.Now()
	for i := range 100 {
		if _, err := sw.Activate([]string{"green", "blue"}[i%2]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	took := time.Since(start)
	fmt.Printf("100 switches in %s at %.0f req/s (32 keep-alive clients): %d ok, %d streams (%d with chunks from two versions), %d errors not from the backends\n",
		took.Round(time.Millisecond), float64(ok.Load())/took.Seconds(), ok.Load(), streams.Load(), brokenStreams.Load(), foreign.Load())
	if foreign.Load() != 0 || brokenStreams.Load() != 0 {
		t.Errorf("switching caused %d errors and %d broken streams", foreign.Load(), brokenStreams.Load())
	}
}
