package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"unsafe"

	"golang.org/x/net/http/httpguts"
)

// The HTTP/1.1 fast path works on raw header bytes: a head is located in the
// bufio.Reader's buffer with Peek, parsed in place, and its lines are copied
// to the other side with the hop-by-hop ones left out. No header map, no
// per-request allocation.

var (
	errHeadTooLarge = errors.New("proxy: header block larger than the buffer")
	errMalformed    = errors.New("proxy: malformed HTTP/1 message head")
)

// peekHead returns the complete message head (request or status line plus
// header lines, up to and including the blank line) at the start of br,
// without consuming it.
func peekHead(br *bufio.Reader) ([]byte, error) {
	for want := 1; ; {
		if _, err := br.Peek(want); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, errHeadTooLarge
			}
			return nil, err
		}
		buf, _ := br.Peek(br.Buffered())
		if n := headEnd(buf); n > 0 {
			return buf[:n], nil
		}
		if want = len(buf) + 1; want > br.Size() {
			return nil, errHeadTooLarge
		}
	}
}

// headEnd is the length of the head in buf (through "\n\r\n" or "\n\n"), or
// 0 if it is incomplete.
func headEnd(buf []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		if i < len(buf) && buf[i] == '\n' {
			return i + 1
		}
		if i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n' {
			return i + 2
		}
		if i >= len(buf) || (i+1 >= len(buf) && buf[i] == '\r') {
			return 0
		}
	}
}

// nextLine splits the first line (without CR LF) off head.
func nextLine(head []byte) (line, rest []byte) {
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return head, nil
	}
	line, rest = head[:i], head[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// splitHeader splits "Name: value" into name and value, the value without
// the SP and HTAB around it (the only optional whitespace, RFC 9110 §5.6.3:
// bytes.TrimSpace would also strip \v, \f and U+0085, U+00A0, which a
// backend keeps). The name must be a token and the value free of control
// bytes, as net/http requires of every field: relayed verbatim, anything
// else could make a backend see a different message than the switch did
// (obs-fold, a stray CR, NUL, "Content-Length\v"). ok is false otherwise.
func splitHeader(line []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	name, value = line[:i], trimOWS(line[i+1:])
	if !validToken(name) || !httpguts.ValidHeaderFieldValue(asString(value)) {
		return nil, nil, false
	}
	return name, value, true
}

// headerName is splitHeader's name for a line splitHeader already accepted.
func headerName(line []byte) []byte { return line[:bytes.IndexByte(line, ':')] }

// trimOWS strips SP and HTAB, nothing else, from both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// validToken: a method or field name (RFC 9110 §5.6.2), as net/http checks.
func validToken(b []byte) bool {
	return len(b) > 0 && httpguts.ValidHeaderFieldName(asString(b))
}

// validHost: a Host value net/http would accept and relay byte for byte
// (it drops an IPv6 zone, so one with '%' is left to it).
func validHost(b []byte) bool {
	return len(b) > 0 && bytes.IndexByte(b, '%') < 0 && httpguts.ValidHostHeader(asString(b))
}

// targetByte marks the bytes a request target's path may hold so that
// net/http, were it to serve the request, would send it on unchanged:
// RFC 3986 pchar plus '/', and '[' ']' (url.URL.EscapedPath keeps them).
// net/http re-escapes anything else, and refuses control bytes, so such
// targets are left to it.
var targetByte = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/%[]") {
		t[c] = true
	}
	return t
}()

// validTarget checks an origin-form target: a path of targetBytes with
// well-formed %XX escapes, then an optional query free of control bytes
// (net/http relays the query as it came).
func validTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '?':
			return validQuery(t[i+1:])
		case !targetByte[c]:
			return false
		case c == '%' && (i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2])):
			return false
		}
	}
	return true
}

func validQuery(q []byte) bool {
	for _, c := range q {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// asString views b as a string for the checks above, which do not keep it:
// a conversion would allocate on every request.
func asString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Header kinds the fast path treats specially.
const (
	hOther = iota
	hHop   // hop-by-hop: dropped (Keep-Alive, Proxy-*, Te, Trailer, Upgrade)
	hConnection
	hContentLength
	hTransferEncoding
	hHost
	hXFF
	hXFHost
	hXFProto
	hVia
	hExpect
	hUpgrade
	hTe
	hContentType
	hForwarded // Forwarded, X-Real-IP: only from trusted proxies
	hAuthorization
	hShadow // X-Ripcord-Shadow: the switch's mark on a copy, never a client's to send
	hUserAgent
)

// headerKinds lists the names the fast path treats specially (lower case).
var headerKinds = [...]struct {
	name string
	kind int
}{
	{"te", hTe}, {"via", hVia}, {"host", hHost}, {"expect", hExpect},
	{"upgrade", hUpgrade}, {"trailer", hHop}, {"connection", hConnection},
	{"keep-alive", hHop}, {"content-type", hContentType},
	{"content-length", hContentLength}, {"x-forwarded-for", hXFF},
	{"x-forwarded-host", hXFHost}, {"proxy-connection", hHop},
	{"transfer-encoding", hTransferEncoding}, {"x-forwarded-proto", hXFProto},
	{"proxy-authenticate", hHop}, {"proxy-authorization", hHop},
	{"forwarded", hForwarded}, {"x-real-ip", hForwarded},
	{"authorization", hAuthorization}, {"x-ripcord-shadow", hShadow},
	{"user-agent", hUserAgent},
}

// kindOf classifies a header name, case-insensitively. The length check
// first makes the scan cost a few integer compares for most names.
func kindOf(name []byte) int {
	for _, k := range headerKinds {
		if len(k.name) == len(name) && eqFold(name, k.name) {
			return k.kind
		}
	}
	return hOther
}

// eqFold compares b with the lower-case ASCII string s, ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// connTokens scans a Connection header value: close, and whether it names
// other headers (which are then hop-by-hop too).
func connTokens(v []byte) (closeConn, namesOthers bool) {
	for len(v) > 0 {
		var tok []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			tok, v = v, nil
		}
		tok = trimOWS(tok)
		switch {
		case len(tok) == 0 || eqFold(tok, "keep-alive"):
		case eqFold(tok, "close"):
			closeConn = true
		default:
			namesOthers = true
		}
	}
	return closeConn, namesOthers
}

// namedBy reports whether Connection values vals name the header name.
func namedBy(vals [][]byte, name []byte) bool {
	for _, v := range vals {
		for len(v) > 0 {
			var tok []byte
			if i := bytes.IndexByte(v, ','); i >= 0 {
				tok, v = v[:i], v[i+1:]
			} else {
				tok, v = v, nil
			}
			if bytes.EqualFold(trimOWS(tok), name) {
				return true
			}
		}
	}
	return false
}

// parseLength parses a Content-Length value; -1 if invalid.
func parseLength(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// isChunked reports whether a Transfer-Encoding value is exactly "chunked",
// the only coding the fast path relays; anything else goes to net/http.
func isChunked(v []byte) bool { return eqFold(v, "chunked") }

// parseStatus parses "HTTP/1.x NNN reason" and returns the status code.
// The reason phrase is relayed verbatim, so it may hold no control byte
// (RFC 9112 §4: HTAB, SP, VCHAR, obs-text): a CR in it would let a backend
// write header lines past the switch's checks.
func parseStatus(line []byte) (code int, http11 bool, err error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || (line[7] != '0' && line[7] != '1') || line[8] != ' ' {
		return 0, false, errMalformed
	}
	d := line[9:12]
	if !isDigit(d[0]) || !isDigit(d[1]) || !isDigit(d[2]) || (len(line) > 12 && line[12] != ' ') {
		return 0, false, errMalformed
	}
	code = int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	if code < 100 || !httpguts.ValidHeaderFieldValue(asString(line[12:])) {
		return 0, false, errMalformed
	}
	return code, line[7] == '1', nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
