package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
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

// splitHeader splits "Name: value" into name and trimmed value. Folded
// lines and stray CR or NUL bytes are refused: relayed verbatim they could
// make the upstream see a different message than the proxy did.
func splitHeader(line []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || line[0] == ' ' || line[0] == '\t' || bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		return nil, nil, false
	}
	name = line[:i]
	if bytes.IndexByte(name, ' ') >= 0 || bytes.IndexByte(name, '\t') >= 0 {
		return nil, nil, false
	}
	return name, bytes.TrimSpace(line[i+1:]), true
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
		tok = bytes.TrimSpace(tok)
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
			if bytes.EqualFold(bytes.TrimSpace(tok), name) {
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
func parseStatus(line []byte) (code int, http11 bool, err error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, errMalformed
	}
	code, aerr := strconv.Atoi(string(line[9:12]))
	if aerr != nil || code < 100 || code > 999 || (len(line) > 12 && line[12] != ' ') {
		return 0, false, errMalformed
	}
	return code, line[7] == '1', nil
}
