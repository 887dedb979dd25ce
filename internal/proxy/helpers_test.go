package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a real HTTP server standing for one version.
type backend struct {
	*httptest.Server
	hits  atomic.Int64
	conns atomic.Int64 // open connections (new/active/idle)
}

func newBackend(t *testing.T, h http.HandlerFunc, configure ...func(*http.Server)) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h(w, r)
	}))
	b.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			b.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.conns.Add(-1)
		}
	}
	for _, f := range configure {
		f(b.Config)
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// named answers with the version's name.
func named(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, name)
	}
}

// serve runs sw on a loopback listener until the test ends and returns its
// base URL.
func serve(t *testing.T, sw *Switch) string {
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

// serveStoppable is serve with a stop function that shuts Serve down and
// waits for it to return, i.e. for every request it carried to finish.
func serveStoppable(t *testing.T, sw *Switch) (base string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// newTestSwitch returns a switch with the given versions (name → URL), the
// first one active.
func newTestSwitch(t *testing.T, opts Options, versions ...string) *Switch {
	t.Helper()
	sw := New(opts)
	for i := 0; i+1 < len(versions); i += 2 {
		if err := sw.SetVersion(versions[i], versions[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if len(versions) > 0 {
		if _, err := sw.Activate(versions[0]); err != nil {
			t.Fatal(err)
		}
	}
	return sw
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// stats is the whole retained window of a version.
func stats(sw *Switch, version string) Snapshot {
	now := time.Now()
	return sw.Stats(version, now.Add(-time.Minute), now)
}

// refusedURL is an http URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// forEachProto runs f with an HTTP/1.1 client (the fast path) and an h2c
// client (net/http and ServeHTTP).
func forEachProto(t *testing.T, f func(t *testing.T, c *http.Client)) {
	t.Run("http1", func(t *testing.T) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		f(t, &http.Client{Transport: tr})
	})
	t.Run("h2c", func(t *testing.T) {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: &p}
		defer tr.CloseIdleConnections()
		f(t, &http.Client{Transport: tr})
	})
}

func isH2C(c *http.Client) bool {
	tr, ok := c.Transport.(*http.Transport)
	return ok && tr.Protocols != nil
}
