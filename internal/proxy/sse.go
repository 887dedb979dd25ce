package proxy

// sseScan watches a Server-Sent Events body for an "event: error" line
// (the event type LLM APIs send when a stream fails after its 200 status),
// across reads of any size. It keeps only the start of the current line.
type sseScan struct {
	line   [16]byte
	n      int  // bytes of the current line kept (up to len(line))
	long   bool // the current line is longer than any line it looks for
	cr     bool // the last byte was CR (a CRLF is one line end)
	failed bool // an error event passed

	// noScan: only capture, the body is no event stream.
	noScan bool
	// capLimit > 0 keeps the body's first capLimit bytes in captured (a
	// shadow comparison); capCut says the body was longer.
	capLimit int
	captured []byte
	capCut   bool
}

// feed scans the next bytes of the stream.
func (sc *sseScan) feed(b []byte) {
	if sc.capLimit > 0 {
		sc.capture(b)
	}
	if sc.noScan {
		return
	}
	for _, c := range b {
		switch c {
		case '\n':
			if sc.cr {
				sc.cr = false
				continue // the LF of a CRLF
			}
			sc.endLine()
		case '\r':
			sc.endLine()
			sc.cr = true
			continue
		default:
			if sc.n < len(sc.line) {
				sc.line[sc.n] = c
				sc.n++
			} else {
				sc.long = true
			}
		}
		sc.cr = false
	}
}

// endLine checks the line that just ended: "event:error" with the optional
// single space after the colon the SSE format allows.
func (sc *sseScan) endLine() {
	if !sc.long {
		switch string(sc.line[:sc.n]) {
		case "event: error", "event:error":
			sc.failed = true
		}
	}
	sc.n, sc.long = 0, false
}

func (sc *sseScan) capture(b []byte) {
	room := sc.capLimit - len(sc.captured)
	if len(b) > room {
		b, sc.capCut = b[:room], true
	}
	sc.captured = append(sc.captured, b...)
}
