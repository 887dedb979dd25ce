package proxy

import (
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"

	"golang.org/x/net/http/httpguts"
)

// Protocol upgrades: only WebSocket is relayed, by httputil.ReverseProxy,
// which passes Connection: Upgrade through, answers 101 and splices the two
// hijacked connections; they are rare and long-lived, so its per-request
// cost does not matter. Any other Upgrade (h2c over HTTP/1.1 above all) is
// served as plain HTTP/1.1, as net/http itself does: relayed, a backend's
// h2c tunnel would go on answering on one version after a rollback.
//
// The backend connection of a tunnel is marked as such (its bytes are never
// unsolicited) and closed when the version is left or Serve shuts down
// (drain.go); ReverseProxy then closes the client's side too. The upgrade
// request is recorded for the version like any other (a failure to connect
// is an error; the tunnel's lifetime is not latency, so the time recorded in
// the window is until the 101 was relayed, and it is never a sample of the
// latency or ttfb bounds the sequential tests count).

// isUpgrade reports whether r asks to switch to WebSocket.
func isUpgrade(r *http.Request) bool {
	return httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") &&
		httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket")
}

// serveUpgrade relays a WebSocket upgrade request to version v.
func (s *Switch) serveUpgrade(w http.ResponseWriter, r *http.Request, v *version) {
	fl := v.stats.beginUntracked(s.now()) // a tunnel is never a latency sample
	x, _ := newNetExchange(r.Context(), true)
	trusted := s.opts.trustedAddr(r.RemoteAddr)
	rp := &httputil.ReverseProxy{
		Transport: v.up.tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(v.target)
			pr.Out.Host = r.Host
			in, out := pr.In.Header, pr.Out.Header
			out.Del("Forwarded")
			out.Del("X-Real-Ip")
			out["X-Forwarded-For"] = in["X-Forwarded-For"] // SetXForwarded appends the peer
			pr.SetXForwarded()
			if trusted {
				for _, k := range []string{"Forwarded", "X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto"} {
					if vv := in[k]; len(vv) > 0 {
						out[k] = vv
					}
				}
			}
			out["Via"] = []string{joinList(in["Via"], viaRequest[0])}
			if v.auth != "" && out.Get("Authorization") == "" {
				out["Authorization"] = []string{v.auth}
			}
			pr.Out = pr.Out.WithContext(httptrace.WithClientTrace(pr.Out.Context(), &x.trace))
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode != http.StatusSwitchingProtocols && x.conn != nil {
				x.tunnel = false // refused: a plain answer, the connection may be reused
				x.conn.tunnel.Store(false)
			}
			o := outcomeOK
			if resp.StatusCode >= 500 {
				o = outcome5xx
			}
			fl.head = s.now()
			s.complete(v, &fl, o)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil && !x.wasCut() {
				s.complete(v, &fl, outcomeConnErr)
			}
			http.Error(w, "ripcord: upstream unavailable", http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
	x.done() // nothing for a tunnel, which stays marked until closed
}
