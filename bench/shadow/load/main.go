// Command load sends an open-loop GET load at a fixed rate to one URL over
// keep-alive connections and prints the latency quantiles, measured from
// each request's scheduled start (so a stall counts against every request
// it delays), for bench/shadow/run.sh.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18183/small", "target")
	rate := flag.Int("rate", 200, "requests per second")
	dur := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}}
	n := int(dur.Seconds() * float64(*rate))
	lat := make([]time.Duration, n)
	failed := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	gap := time.Second / time.Duration(*rate)
	for i := range n {
		at := start.Add(time.Duration(i) * gap)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			resp, err := client.Get(*url)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			d := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != 200 {
				failed++
			}
			lat[i] = d
		})
	}
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(n-1))].Microseconds()) }
	fmt.Printf("%d %.0f %.0f %d\n", n, q(0.50), q(0.99), failed)
	if failed > 0 {
		os.Exit(1)
	}
}
