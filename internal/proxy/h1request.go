package proxy

import "bytes"

// parseRequest checks head and builds the upstream header block in c.hdr.
// It reports false for anything the fast path leaves to net/http, which
// then serves or refuses it with its own rules: the fast path relays only
// what net/http would relay the same way (FuzzDifferential checks that).
func (c *h1conn) parseRequest(head []byte, rq *reqHead) bool {
	rq.headLen, rq.length = len(head), -1
	line, rest := nextLine(head)
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 || string(line[sp2+1:]) != "HTTP/1.1" ||
		!validToken(line[:sp1]) || !validTarget(line[sp1+1:sp2]) || string(line[:sp1]) == "CONNECT" {
		return false
	}
	c.line = append(c.line[:0], line[:sp2]...)
	rq.method, rq.target = c.line[:sp1], c.line[sp1+1:]

	f := fwdHeaders{trusted: c.trusted}
	if !scanRequestHeaders(rest, rq, &f) || !validHost(f.host) || (rq.chunked && rq.length >= 0) {
		return false
	}
	c.writeHeaderBlock(rest, &f)
	return true
}

// fwdHeaders is what the request's headers say about forwarding.
type fwdHeaders struct {
	trusted    bool     // the peer may set Forwarded, X-Real-IP, X-Forwarded-Host/-Proto
	connVals   [][]byte // Connection values naming other headers
	host       []byte   // nil: none
	xff, via   []byte
	hasXFHost  bool
	hasXFProto bool
	teTrailers bool
}

// scanRequestHeaders validates every line and reads the framing and
// forwarding headers; false for anything left to net/http.
func scanRequestHeaders(lines []byte, rq *reqHead, f *fwdHeaders) bool {
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		name, val, ok := splitHeader(hl)
		if !ok {
			return false
		}
		switch kindOf(name) {
		case hConnection:
			closeConn, names := connTokens(val)
			rq.closeAfter = rq.closeAfter || closeConn
			if names {
				f.connVals = append(f.connVals, val)
			}
		case hContentLength:
			n := parseLength(val)
			if n < 0 || (rq.length >= 0 && n != rq.length) {
				return false
			}
			rq.length = n
		case hTransferEncoding:
			if !isChunked(val) || rq.chunked {
				return false
			}
			rq.chunked = true
		case hHost:
			if f.host != nil {
				return false
			}
			f.host = val[:len(val):len(val)]
		case hExpect, hUpgrade:
			return false
		case hTe:
			f.teTrailers = f.teTrailers || eqFold(val, "trailers")
		case hXFF:
			f.xff = appendList(f.xff, val)
		case hVia:
			f.via = appendList(f.via, val)
		case hXFHost:
			f.hasXFHost = f.hasXFHost || f.trusted
		case hXFProto:
			f.hasXFProto = f.hasXFProto || f.trusted
		}
	}
	return true
}

// writeHeaderBlock fills c.hdr with the header lines to send upstream: the
// client's minus hop-by-hop and framing ones, plus the forwarding headers.
//
// A Connection header may make other headers hop-by-hop, but never Host or
// a header the switch sets itself (X-Forwarded-*, Via): "Connection: host"
// would otherwise strip the Host a backend routes by.
func (c *h1conn) writeHeaderBlock(lines []byte, f *fwdHeaders) {
	h := c.hdr[:0]
	c.hasAuth = false
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		name := headerName(hl)
		switch kindOf(name) {
		case hUserAgent:
			// net/http sends no User-Agent line for an empty one; the
			// backend must see the same request on either path.
			if _, v, _ := splitHeader(hl); len(v) == 0 {
				continue
			}
			fallthrough
		case hOther, hContentType, hAuthorization:
			if f.connVals != nil && namedBy(f.connVals, name) {
				continue
			}
			if kindOf(name) == hAuthorization {
				c.hasAuth = true
			}
		case hForwarded:
			if !f.trusted || (f.connVals != nil && namedBy(f.connVals, name)) {
				continue
			}
		case hXFHost, hXFProto:
			if !f.trusted {
				continue // the switch says what it saw instead
			}
		case hHost:
		default:
			continue
		}
		h = append(append(h, hl...), '\r', '\n')
	}
	h = append(h, "X-Forwarded-For: "...)
	if len(f.xff) > 0 {
		h = append(append(h, f.xff...), ", "...)
	}
	h = append(append(h, c.ip...), "\r\nVia: "...)
	if len(f.via) > 0 {
		h = append(append(h, f.via...), ", "...)
	}
	h = append(h, "1.1 ripcord\r\n"...)
	if !f.hasXFHost {
		h = append(append(append(h, "X-Forwarded-Host: "...), f.host...), '\r', '\n')
	}
	if !f.hasXFProto {
		h = append(h, "X-Forwarded-Proto: http\r\n"...)
	}
	if f.teTrailers {
		h = append(h, "Te: trailers\r\n"...)
	}
	c.hdr = h
}

// appendList adds a list header's value to dst; empty values add nothing.
func appendList(dst, v []byte) []byte {
	if len(v) == 0 {
		return dst
	}
	if len(dst) > 0 {
		dst = append(dst, ", "...)
	}
	return append(dst, v...)
}
