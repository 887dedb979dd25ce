package proxy

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzRequestHead feeds arbitrary bytes to the fast path's head parser: it
// must never panic, and what it accepts must be a head it can rebuild.
func FuzzRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\nabc",
		"PUT /c HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n3\r\nabc\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nVia: 1.0 a\r\nTe: trailers\r\n\r\n",
		"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	sw := New(Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &h1conn{s: sw, ip: "127.0.0.1", br: bufio.NewReaderSize(bytes.NewReader(data), clientReadBuf)}
		head, err := peekHead(c.br)
		if err != nil {
			return
		}
		var rq reqHead
		if !c.parseRequest(head, &rq) {
			return
		}
		if rq.headLen != len(head) || len(rq.method) == 0 || rq.target[0] != '/' {
			t.Fatalf("accepted %q as method %q target %q", head, rq.method, rq.target)
		}
		if bytes.ContainsAny(c.hdr, "\x00") || !strings.HasSuffix(string(c.hdr), "\r\n") {
			t.Fatalf("header block %q", c.hdr)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(c.hdr), "\r\n"), "\r\n") {
			if _, _, ok := splitHeader([]byte(l)); !ok {
				t.Fatalf("emitted a line it would refuse: %q", l)
			}
		}
	})
}

// FuzzChunked relays arbitrary chunked bodies: no panic, and a body it
// accepts is relayed to something the same parser accepts again.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("a;ext=1\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		rerr, werr := relayChunked(bw, bufio.NewReader(bytes.NewReader(data)), true)
		if rerr != nil || werr != nil {
			return
		}
		bw.Flush()
		var again bytes.Buffer
		bw2 := bufio.NewWriter(&again)
		if rerr, _ := relayChunked(bw2, bufio.NewReader(bytes.NewReader(out.Bytes())), true); rerr != nil {
			t.Fatalf("relayed %q to %q, which does not parse: %v", data, out.Bytes(), rerr)
		}
		bw2.Flush()
		if !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("not stable: %q then %q", out.Bytes(), again.Bytes())
		}
	})
}
