package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawBackend is the cheapest possible keep-alive upstream, so a benchmark
// measures the switch rather than net/http's server.
func rawBackend(b *testing.B, body string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					head, err := peekHead(br)
					if err != nil {
						return
					}
					br.Discard(len(head))
					if _, err := nc.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// benchSwitch serves a switch in front of upstream and returns its address.
// With tracked set the switch counts latency bounds as a watched version's
// does (every request joins the in-flight set and is counted per bound).
func benchSwitch(b *testing.B, upstream string, tracked ...bool) string {
	sw := New(Options{Service: "bench"})
	if err := sw.SetVersion("v", upstream); err != nil {
		b.Fatal(err)
	}
	sw.Activate("v")
	if len(tracked) > 0 && tracked[0] {
		sw.Track("v", map[string][]float64{"latency_p99_ms": {3000, 10000}, "latency_p50_ms": {400}})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sw.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done; sw.Close() })
	return ln.Addr().String()
}

// BenchmarkSwitchHTTP1 is one keep-alive request/response through the
// switch's fast path per op, from parallel raw clients (allocs/op are the
// whole process's: client, switch and backend).
func BenchmarkSwitchHTTP1(b *testing.B) {
	for _, size := range []int{52, 16 << 10, -52} {
		name := strconv.Itoa(size) + "B"
		if size < 0 { // a watched version: three latency bounds counted
			size, name = -size, strconv.Itoa(-size)+"B-tracked"
		}
		b.Run(name, func(b *testing.B) {
			addr := benchSwitch(b, rawBackend(b, strings.Repeat("x", size)), strings.HasSuffix(name, "tracked"))
			req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer nc.Close()
				br := bufio.NewReaderSize(nc, 32<<10)
				for pb.Next() {
					if _, err := nc.Write(req); err != nil {
						b.Error(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}

// BenchmarkServeHTTP is the same exchange through ServeHTTP (the path of
// h2c and handed-off connections), called directly.
func BenchmarkServeHTTP(b *testing.B) {
	sw := New(Options{Service: "bench"})
	sw.SetVersion("v", rawBackend(b, `{"id":42,"name":"ripcord","ok":true,"items":[1,2,3]}`))
	sw.Activate("v")
	b.Cleanup(func() { sw.Close() })
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequest("GET", "http://bench/small", nil)
			r.RemoteAddr = "127.0.0.1:1234"
			w := &discardWriter{h: http.Header{}}
			sw.ServeHTTP(w, r)
			if w.code != 200 {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkActivate is the cost of a switch.
func BenchmarkActivate(b *testing.B) {
	sw := New(Options{})
	sw.SetVersion("a", "http://127.0.0.1:1")
	sw.SetVersion("b", "http://127.0.0.1:2")
	names := [2]string{"a", "b"}
	i := 0
	for b.Loop() {
		i++
		sw.Activate(names[i&1])
	}
}

// BenchmarkShadowLivePath is one keep-alive request/response from one
// client through the fast path per op, in turn (so ns/op is a round trip's
// latency, not throughput), with the switch plain and with every request
// copied to a second raw backend as the shadow version (its answers
// discarded). The difference is what a shadow adds to a live request:
// deciding and making the copy on the request path, and the workers
// sending copies on the same CPUs.
//
//	go test -run '^$' -bench ShadowLivePath -count 5 ./internal/proxy/
func BenchmarkShadowLivePath(b *testing.B) {
	for _, shadow := range []bool{false, true} {
		name := "plain"
		if shadow {
			name = "shadow"
		}
		b.Run(name, func(b *testing.B) {
			nc, br := shadowBench(b, shadow)
			req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				roundTrip(b, nc, br, req)
			}
		})
	}
}

// BenchmarkShadowAtRate sends requests one at a time at a fixed rate (200
// and 1,000 req/s) for -shadowrate.d, plain and shadowed, interleaved, and
// reports each live request's p50 and p99 in microseconds.
//
//	go test -run '^$' -bench ShadowAtRate -benchtime 1x -count 3 ./internal/proxy/
func BenchmarkShadowAtRate(b *testing.B) {
	for _, rate := range []int{200, 1000} {
		for _, shadow := range []bool{false, true} {
			name := strconv.Itoa(rate) + "rps-plain"
			if shadow {
				name = strconv.Itoa(rate) + "rps-shadow"
			}
			b.Run(name, func(b *testing.B) {
				nc, br := shadowBench(b, shadow)
				req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
				n := 5 * rate // 5 s
				lat := make([]time.Duration, 0, n)
				gap := time.Second / time.Duration(rate)
				start := time.Now()
				for i := range n {
					at := start.Add(time.Duration(i) * gap)
					time.Sleep(time.Until(at))
					t0 := time.Now()
					roundTrip(b, nc, br, req)
					lat = append(lat, time.Since(t0))
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[n/2].Nanoseconds())/1000, "p50-us")
				b.ReportMetric(float64(lat[n*99/100].Nanoseconds())/1000, "p99-us")
			})
		}
	}
}

func roundTrip(b *testing.B, nc net.Conn, br *bufio.Reader, req []byte) {
	if _, err := nc.Write(req); err != nil {
		b.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// shadowBench serves a switch on a raw backend, shadowing every request to
// a second one when shadow is set, and returns one client connection.
func shadowBench(b *testing.B, shadow bool) (net.Conn, *bufio.Reader) {
	sw := New(Options{Service: "bench"})
	if err := sw.SetVersion("v1", rawBackend(b, `{"ok":true}`)); err != nil {
		b.Fatal(err)
	}
	sw.Activate("v1")
	if shadow {
		if err := sw.SetVersion("v2", rawBackend(b, `{"ok":true}`)); err != nil {
			b.Fatal(err)
		}
		if err := sw.StartShadow("v1", "v2"); err != nil {
			b.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sw.Serve(ctx, ln); close(done) }()
	b.Cleanup(func() { cancel(); <-done; sw.Close() })
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	return nc, bufio.NewReaderSize(nc, 32<<10)
}
