package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Body relays of the HTTP/1.1 fast path. Each copies from src to dst and
// flushes dst whenever src has nothing buffered, i.e. right before it would
// block: bytes that arrived are never held back (streams pass unbuffered),
// and bytes that arrived together leave together (one write, not many).
// They return which side failed: readErr for src, writeErr for dst.

var errBadChunk = errors.New("proxy: malformed chunked body")

// await makes src have buffered data, flushing dst first if it must block.
func await(dst *bufio.Writer, src *bufio.Reader) (readErr, writeErr error) {
	if src.Buffered() > 0 {
		return nil, nil
	}
	if dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return nil, err
		}
	}
	_, err := src.Peek(1)
	return err, nil
}

// relayFixed copies exactly n bytes.
func relayFixed(dst *bufio.Writer, src *bufio.Reader, n int64) (readErr, writeErr error) {
	return relayFixedScan(dst, src, n, nil)
}

// relayFixedScan is relayFixed, showing the bytes to sc if set.
func relayFixedScan(dst *bufio.Writer, src *bufio.Reader, n int64, sc *sseScan) (readErr, writeErr error) {
	for n > 0 {
		if readErr, writeErr = await(dst, src); readErr != nil || writeErr != nil {
			if readErr == io.EOF {
				readErr = io.ErrUnexpectedEOF
			}
			return readErr, writeErr
		}
		b, _ := src.Peek(int(min(int64(src.Buffered()), n)))
		if sc != nil {
			sc.feed(b)
		}
		if _, err := dst.Write(b); err != nil {
			return nil, err
		}
		src.Discard(len(b))
		n -= int64(len(b))
	}
	return nil, nil
}

// readLine reads one CRLF-terminated line of a chunked body (returned
// without it), valid until the next read from src.
func readLine(dst *bufio.Writer, src *bufio.Reader) (line []byte, readErr, writeErr error) {
	if readErr, writeErr = await(dst, src); readErr != nil || writeErr != nil {
		return nil, readErr, writeErr
	}
	line, err := src.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err, nil
	}
	// Every line of a chunked body ends in CR LF, as net/http insists: a
	// bare LF is where parsers disagree on where a chunk ends (smuggling).
	if n := len(line); n < 2 || line[n-2] != '\r' {
		return nil, errBadChunk, nil
	}
	return line[:len(line)-2], nil, nil
}

// relayChunked passes a chunked body through, chunk boundaries and
// extensions included, so an upstream's flushes stay flushes. Trailers are
// passed on with keepTrailers (answers) and dropped otherwise (requests,
// as net/http's path does: a field that comes after the body is never
// checked against the head the backend routed by).
func relayChunked(dst *bufio.Writer, src *bufio.Reader, keepTrailers bool) (readErr, writeErr error) {
	return relayChunkedScan(dst, src, keepTrailers, nil)
}

// relayChunkedScan is relayChunked, showing the chunks' data to sc if set.
func relayChunkedScan(dst *bufio.Writer, src *bufio.Reader, keepTrailers bool, sc *sseScan) (readErr, writeErr error) {
	for {
		line, rerr, werr := readLine(dst, src)
		if rerr != nil || werr != nil {
			return rerr, werr
		}
		size, ok := chunkSize(line)
		if !ok {
			return errBadChunk, nil
		}
		if werr = writeLine(dst, line); werr != nil {
			return nil, werr
		}
		if size == 0 {
			if !keepTrailers {
				return skipRequestTrailers(dst, src)
			}
			return relayTrailers(dst, src)
		}
		if rerr, werr = relayFixedScan(dst, src, size, sc); rerr != nil || werr != nil {
			return rerr, werr
		}
		if line, rerr, werr = readLine(dst, src); rerr != nil || werr != nil {
			return rerr, werr
		}
		if len(line) != 0 {
			return errBadChunk, nil
		}
		if _, err := dst.WriteString("\r\n"); err != nil {
			return nil, err
		}
	}
}

// relayTrailers copies an answer's trailer lines through the final empty
// line.
func relayTrailers(dst *bufio.Writer, src *bufio.Reader) (readErr, writeErr error) {
	for {
		line, rerr, werr := readLine(dst, src)
		if rerr != nil || werr != nil {
			return rerr, werr
		}
		if len(line) > 0 {
			if _, _, ok := splitHeader(line); !ok {
				return errBadChunk, nil
			}
		}
		if werr = writeLine(dst, line); werr != nil || len(line) == 0 {
			return nil, werr
		}
	}
}

func writeLine(dst *bufio.Writer, line []byte) error {
	dst.Write(line)
	_, err := dst.WriteString("\r\n")
	return err
}

// chunkSize parses a chunk-size line (hex, optional ;extensions). A stray
// CR or NUL is refused: the line is relayed verbatim.
func chunkSize(line []byte) (int64, bool) {
	if bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		return 0, false
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// relayToEOF copies a body delimited by the upstream closing the connection,
// re-framed as chunks for a keep-alive client, showing the bytes to sc if
// set.
func relayToEOF(dst *bufio.Writer, src *bufio.Reader, sc *sseScan) (readErr, writeErr error) {
	for {
		readErr, writeErr = await(dst, src)
		if writeErr != nil {
			return nil, writeErr
		}
		if readErr != nil {
			if readErr != io.EOF {
				return readErr, nil
			}
			_, err := dst.WriteString("0\r\n\r\n")
			return nil, err
		}
		b, _ := src.Peek(src.Buffered())
		if sc != nil {
			sc.feed(b)
		}
		dst.Write(strconv.AppendInt(dst.AvailableBuffer(), int64(len(b)), 16))
		dst.WriteString("\r\n")
		dst.Write(b)
		if _, err := dst.WriteString("\r\n"); err != nil {
			return nil, err
		}
		src.Discard(len(b))
	}
}
