package proxy

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// rawServer is a backend that speaks HTTP/1.1 by hand, so a test can make
// it misbehave byte by byte. handle serves one connection; closed counts
// connections the switch (or the handler) ended.
type rawServer struct {
	URL    string
	closed atomic.Int64
	events chan string
}

func newRawServer(t testing.TB, handle func(s *rawServer, nc net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{URL: "http://" + ln.Addr().String(), events: make(chan string, 100)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer s.closed.Add(1)
				defer nc.Close()
				handle(s, nc, bufio.NewReader(nc))
			}()
		}
	}()
	return s
}

// event tells the test something happened at the backend.
func (s *rawServer) event(what string) {
	select {
	case s.events <- what:
	default:
	}
}

// await waits for the backend to report what.
func (s *rawServer) await(t *testing.T, what string) {
	t.Helper()
	waitFor(t, "backend: "+what, func() bool {
		select {
		case got := <-s.events:
			if got != what {
				t.Fatalf("backend reported %q while waiting for %q", got, what)
			}
			return true
		default:
			return false
		}
	})
}

// readRequests reads one request (head and body) at a time for serve until
// the connection ends.
func readRequests(br *bufio.Reader, serve func(r *http.Request) bool) {
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body := make([]byte, 0, 64)
		if r.Body != nil {
			buf := make([]byte, 512)
			for {
				n, err := r.Body.Read(buf)
				body = append(body, buf[:n]...)
				if err != nil {
					break
				}
			}
		}
		_ = body
		if !serve(r) {
			return
		}
	}
}
