package proxy

import (
	"bufio"
	"bytes"
	"io"
)

// skipRequestTrailers consumes a request's trailer section and sends the
// upstream the end of the body without it. net/http's server drops request
// trailers too (ServeHTTP never forwards them), and the fast path must end
// the body where net/http would and refuse what it would refuse, or the two
// would read the bytes after it as different requests. So this follows
// net/http (body.readTrailer, then textproto.ReadMIMEHeader) rule for rule,
// laxer ones included: CR LF right away ends it; otherwise a CR LF CR LF
// must be in sight within the read buffer (4 KiB on both); lines may end in
// a bare LF and continue on a line that starts with SP or HTAB; a name may
// hold spaces but no other non-token byte; values no control byte but HTAB.
func skipRequestTrailers(dst *bufio.Writer, src *bufio.Reader) (readErr, writeErr error) {
	if dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return nil, err
		}
	}
	if buf, err := src.Peek(2); string(buf) == "\r\n" {
		src.Discard(2)
		_, err := dst.WriteString("\r\n")
		return nil, err
	} else if err != nil {
		return eofIsUnexpected(err), nil
	}
	for n := 4; ; n++ { // net/http: seeUpcomingDoubleCRLF
		buf, err := src.Peek(n)
		if bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
			break
		}
		if err != nil {
			return errBadChunk, nil
		}
	}
	if b, _ := src.Peek(1); b[0] == ' ' || b[0] == '\t' {
		return errBadChunk, nil // a first line may not continue anything
	}
	for {
		line := trailerLine(src)
		if len(line) == 0 {
			_, err := dst.WriteString("\r\n")
			return nil, err
		}
		if bytes.IndexByte(line, ':') < 0 {
			return errBadChunk, nil
		}
		field := append([]byte(nil), trimOWS(line)...)
		for b, _ := src.Peek(1); len(b) > 0 && (b[0] == ' ' || b[0] == '\t'); b, _ = src.Peek(1) {
			field = append(append(field, ' '), trimOWS(trailerLine(src))...)
		}
		if !lenientField(field) {
			return errBadChunk, nil
		}
	}
}

// trailerLine reads one line ending in LF or CR LF (in the buffer: a
// CR LF CR LF is known to follow), without its end.
func trailerLine(src *bufio.Reader) []byte {
	line, _ := src.ReadSlice('\n')
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// lenientField is textproto's check of a header line: a non-empty name of
// token bytes or spaces, a value without control bytes other than HTAB.
func lenientField(field []byte) bool {
	name, value, _ := bytes.Cut(field, []byte(":"))
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c != ' ' && !validToken([]byte{c}) {
			return false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
