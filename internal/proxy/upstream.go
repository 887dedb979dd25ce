package proxy

import (
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// upstream holds the connections to one version's URL.
//
// A version that is not active is "draining": a connection that finishes its
// request is closed instead of kept idle, so a switch never cuts a request
// but leaves no keep-alive connections behind to the old version.
type upstream struct {
	tr       *http.Transport // ServeHTTP (h2c, handed-off connections)
	h1       *h1pool         // the HTTP/1.1 fast path
	draining atomic.Bool
}

func newUpstream(u *url.URL, responseTimeout time.Duration) *upstream {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	up := &upstream{tr: &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: 0,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
		ResponseHeaderTimeout: responseTimeout,
	}}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	up.h1 = newH1Pool(addr)
	up.draining.Store(true)
	return up
}

func (u *upstream) roundTrip(req *http.Request) (*http.Response, error) {
	return u.tr.RoundTrip(req)
}

// done is called when a request on this upstream has finished.
func (u *upstream) done() {
	if u.draining.Load() {
		u.tr.CloseIdleConnections()
	}
}

func (u *upstream) drain() {
	u.draining.Store(true)
	u.h1.drain()
	u.tr.CloseIdleConnections()
}

func (u *upstream) undrain() {
	u.draining.Store(false)
	u.h1.undrain()
}

func (u *upstream) closeIdle() {
	u.tr.CloseIdleConnections()
	u.h1.closeIdle()
}
