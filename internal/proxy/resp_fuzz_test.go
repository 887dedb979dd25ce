package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// FuzzResponse feeds arbitrary upstream answers to the fast path (to a GET
// and to a HEAD): whatever reaches the client must be an answer net/http
// parses, with a status line and header lines free of control bytes, and
// an upstream connection is pooled only with nothing left unread.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\rX-Injected: 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n\r\nuntil close",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	sw := New(Options{Service: "fuzz"})
	var up *memUpstream
	var answer []byte
	sw.h1dial = func(context.Context, string, string) (net.Conn, error) {
		up = &memUpstream{answer: bytes.NewReader(answer)}
		return up, nil
	}
	if err := sw.SetVersion("v", "http://127.0.0.1:1"); err != nil {
		f.Fatal(err)
	}
	sw.Activate("v")
	srv := sw.newH1Server(context.Background(), &net.TCPAddr{})
	srv.handoffTo = func(nc net.Conn) { nc.Close() }
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		answer = data
		method := "GET"
		if head {
			method = "HEAD"
		}
		client := newMemConn([]byte(method+" / HTTP/1.1\r\nHost: x\r\n\r\n"), "192.0.2.1:1", false)
		c := srv.newConn(client)
		srv.open.Add(1)
		srv.wg.Add(1)
		c.serve()
		pooled := len(sw.idleConns())
		sw.Close()
		if pooled > 0 && up.answer.Len() > 0 {
			t.Fatalf("pooled a connection with %d bytes unread after %q", up.answer.Len(), data)
		}
		out := client.out.Bytes()
		if len(out) == 0 {
			return // nothing sent: the client was hung up on
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("upstream %q reached the client as %q, which does not parse: %v", data, out, err)
		}
		io.Copy(io.Discard, resp.Body)
		respHead, _, _ := bytes.Cut(out, []byte("\r\n\r\n"))
		lines := strings.Split(string(respHead), "\r\n")
		if _, _, err := parseStatus([]byte(lines[0])); err != nil {
			t.Fatalf("status line %q relayed from %q", lines[0], data)
		}
		for _, l := range lines[1:] {
			if _, _, ok := splitHeader([]byte(l)); !ok {
				t.Fatalf("header line %q relayed from %q", l, data)
			}
		}
	})
}
