package proxy

import (
	"net/http"
	"net/http/httputil"
	"strings"
)

// Protocol upgrades (WebSocket) are relayed by httputil.ReverseProxy, which
// already does the one thing this needs and the rest of the switch does not:
// pass Connection: Upgrade through, answer 101 and splice the two hijacked
// connections. They are rare and long-lived, so its per-request cost does not
// matter. The upgrade request is recorded for the version like any other
// (a failure to connect is an error; the connection's lifetime is not
// latency, so the time recorded is until the 101 was relayed).

// isUpgrade reports whether r asks to switch protocols.
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// serveUpgrade relays an upgrade request to version v.
func (s *Switch) serveUpgrade(w http.ResponseWriter, r *http.Request, v *version) {
	start := s.now()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(v.target)
			pr.SetXForwarded()
			pr.Out.Host = r.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			o := outcomeOK
			if resp.StatusCode >= 500 {
				o = outcome5xx
			}
			s.record(v, start, o)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				s.record(v, start, outcomeConnErr)
			}
			http.Error(w, "ripcord: upstream unavailable", http.StatusBadGateway)
		},
	}
	rp.ServeHTTP(w, r)
}
