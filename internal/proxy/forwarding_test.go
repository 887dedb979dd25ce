package proxy

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// TestForwardingHeaders: the switch says which host and scheme it saw;
// client-sent Forwarded, X-Real-IP, X-Forwarded-Host and -Proto are
// dropped unless the peer is a trusted proxy. X-Forwarded-For appends.
func TestForwardingHeaders(t *testing.T) { forEachProto(t, testForwardingHeaders) }

func testForwardingHeaders(t *testing.T, c *http.Client) {
	for _, trusted := range []bool{false, true} {
		got := make(chan http.Header, 1)
		be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Clone()
			h.Set("Host", r.Host)
			got <- h
			io.WriteString(w, "ok")
		})
		var opts Options
		if trusted {
			opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		sw := newTestSwitch(t, opts, "v", be.URL)
		base := serve(t, sw)
		req, _ := http.NewRequest("GET", base+"/", nil)
		req.Header.Set("Forwarded", "for=6.6.6.6;host=evil;proto=https")
		req.Header.Set("X-Real-IP", "6.6.6.6")
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-For", "6.6.6.6")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := <-got
		want := map[string]string{
			"X-Forwarded-For": "6.6.6.6, 127.0.0.1", "X-Forwarded-Host": h.Get("Host"), "X-Forwarded-Proto": "http",
			"Forwarded": "", "X-Real-Ip": "",
		}
		if trusted {
			want["X-Forwarded-Host"], want["X-Forwarded-Proto"] = "evil.example", "https"
			want["Forwarded"], want["X-Real-Ip"] = "for=6.6.6.6;host=evil;proto=https", "6.6.6.6"
		}
		if !strings.HasPrefix(h.Get("Host"), "127.0.0.1:") {
			t.Fatalf("Host %q", h.Get("Host"))
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("trusted=%v: %s = %q, want %q", trusted, k, h.Get(k), v)
			}
		}
	}
}
