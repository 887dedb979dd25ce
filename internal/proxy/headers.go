package proxy

import (
	"net"
	"net/http"
	"net/textproto"
	"strings"
)

// hopHeaders are meaningful for one connection only (RFC 9110 §7.6.1) and
// are never forwarded. Te is handled apart: "Te: trailers" is kept because
// gRPC needs it end to end.
var hopHeaders = [...]string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

func isHopHeader(k string) bool {
	for _, h := range hopHeaders {
		if k == h {
			return true
		}
	}
	return false
}

// connectionTokens returns the header names listed in Connection, which are
// hop-by-hop as well; nil in the common case of none or only keep-alive/close.
func connectionTokens(h http.Header) map[string]bool {
	var named map[string]bool
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			f = textproto.TrimString(f)
			if f == "" || strings.EqualFold(f, "close") || strings.EqualFold(f, "keep-alive") {
				continue
			}
			if named == nil {
				named = map[string]bool{}
			}
			named[textproto.CanonicalMIMEHeaderKey(f)] = true
		}
	}
	return named
}

var (
	viaRequest = []string{"1.1 ripcord"}
	teTrailers = []string{"trailers"}
	httpProto  = []string{"http"}
	httpsProto = []string{"https"}
)

// setBySwitch are the headers the switch writes itself: a Connection
// header naming one does not remove it ("Connection: host" must not strip
// the Host a backend routes by; Host is not in the map but in r.Host).
func setBySwitch(k string) bool {
	switch k {
	case "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Via":
		return true
	}
	return false
}

// fromTrustedOnly are forwarding headers passed on only from a trusted
// proxy: from anyone else they would let a client say which host, scheme
// or address it came from.
func fromTrustedOnly(k string) bool {
	switch k {
	case "Forwarded", "X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// outHeader builds the header sent upstream: the client's minus hop-by-hop
// fields (and minus forwarding fields unless trusted), plus
// X-Forwarded-For/-Host/-Proto and Via. Value slices are shared with the
// incoming request where they are not changed.
func outHeader(r *http.Request, trusted bool) http.Header {
	named := connectionTokens(r.Header)
	h := make(http.Header, len(r.Header)+4)
	for k, vv := range r.Header {
		switch {
		case isHopHeader(k), !trusted && fromTrustedOnly(k), k == ShadowHeader:
			continue
		case named[k] && !setBySwitch(k):
			continue
		}
		h[k] = vv
	}
	for _, te := range r.Header["Te"] {
		if strings.EqualFold(textproto.TrimString(te), "trailers") {
			h["Te"] = teTrailers
		}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h["X-Forwarded-For"] = []string{joinList(h["X-Forwarded-For"], ip)}
	}
	if _, ok := h["X-Forwarded-Host"]; !ok && r.Host != "" {
		h["X-Forwarded-Host"] = []string{r.Host}
	}
	if _, ok := h["X-Forwarded-Proto"]; !ok {
		if r.TLS != nil {
			h["X-Forwarded-Proto"] = httpsProto
		} else {
			h["X-Forwarded-Proto"] = httpProto
		}
	}
	if prior := h["Via"]; len(prior) > 0 {
		h["Via"] = []string{joinList(prior, viaRequest[0])}
	} else {
		h["Via"] = viaRequest[:1:1]
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // do not let the client library add its own
	}
	return h
}

// joinList appends last to a list header's values; empty values add
// nothing, as on the fast path.
func joinList(prior []string, last string) string {
	if len(prior) == 0 {
		return last
	}
	var b strings.Builder
	for _, v := range prior {
		if v != "" {
			b.WriteString(v)
			b.WriteString(", ")
		}
	}
	b.WriteString(last)
	return b.String()
}

// copyResponseHeader copies the upstream response header to dst minus
// hop-by-hop fields.
func copyResponseHeader(dst, src http.Header) {
	named := connectionTokens(src)
	for k, vv := range src {
		if isHopHeader(k) || named[k] {
			continue
		}
		dst[k] = vv
	}
}
