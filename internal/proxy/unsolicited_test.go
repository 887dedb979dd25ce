package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// answer writes a complete response with body.
func answer(w io.Writer, body string) {
	io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
}

// injected is a whole response hidden in a body: what a victim must never
// receive.
const injected = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 25\r\n\r\n<script>alert(1)</script>"

// newClient is a client with its own connections (a different user).
func newClient(t *testing.T, proto *http.Client) *http.Client {
	tr := &http.Transport{}
	if isH2C(proto) {
		tr.Protocols = proto.Transport.(*http.Transport).Protocols
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func unsolicited(sw *Switch, v string) uint64 { return sw.Totals()[v].Unsolicited }

// TestLateSecondResponse is issue 9's first scenario: client A's request
// makes the backend send a second response after the first; client B, on
// a new TCP connection, must get its own answer, never A's extra one.
func TestLateSecondResponse(t *testing.T) { forEachProto(t, testLateSecondResponse) }

func testLateSecondResponse(t *testing.T, proto *http.Client) {
	late := make(chan struct{})
	be := newRawServer(t, func(s *rawServer, nc net.Conn, br *bufio.Reader) {
		readRequests(br, func(r *http.Request) bool {
			answer(nc, strings.TrimPrefix(r.URL.Path, "/"))
			if r.URL.Path == "/a" {
				<-late
				io.WriteString(nc, injected) // an answer to no request
				waitDelivered(t, nc)
				s.event("late answer sent")
			}
			return true
		})
	})
	sw := newTestSwitch(t, Options{}, "v", be.URL)
	base := serve(t, sw)

	if code, body := get(t, newClient(t, proto), base+"/a"); code != 200 || body != "a" {
		t.Fatalf("A: %d %q", code, body)
	}
	close(late)
	be.await(t, "late answer sent")
	if isH2C(proto) {
		// net/http's Transport drops the connection from its idle reader;
		// wait for that rather than race it.
		waitFor(t, "the Transport to drop the connection", func() bool { return be.closed.Load() == 1 })
	}
	if code, body := get(t, newClient(t, proto), base+"/b"); code != 200 || body != "b" {
		t.Fatalf("B got %d %q, want its own answer", code, body)
	}
	waitFor(t, "unsolicited bytes counted", func() bool { return unsolicited(sw, "v") == uint64(len(injected)) })
}

// TestBodylessAnswerFramedForABody is issue 9's second scenario and its
// kin: an answer that must not have a body (HEAD, 204, 304) but is framed
// for one, followed later by bytes that form a whole response. The next
// client must get its own answer.
func TestBodylessAnswerFramedForABody(t *testing.T) {
	forEachProto(t, testBodylessAnswerFramedForABody)
}

func testBodylessAnswerFramedForABody(t *testing.T, proto *http.Client) {
	cases := []struct{ name, method, head string }{
		{"HEAD reflected into a body", "HEAD", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + strconv.Itoa(len(injected)) + "\r\n\r\n"},
		{"204 with a length", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: " + strconv.Itoa(len(injected)) + "\r\n\r\n"},
		{"304 chunked", "GET", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sent := make(chan struct{})
			be := newRawServer(t, func(s *rawServer, nc net.Conn, br *bufio.Reader) {
				readRequests(br, func(r *http.Request) bool {
					if r.URL.Path != "/reflect" {
						answer(nc, "next")
						return true
					}
					io.WriteString(nc, tc.head)
					<-sent // the switch relayed the head and is done with the answer
					io.WriteString(nc, r.URL.Query().Get("q"))
					waitDelivered(t, nc)
					s.event("body sent")
					return true
				})
			})
			sw := newTestSwitch(t, Options{}, "v", be.URL)
			base := serve(t, sw)

			req, _ := http.NewRequest(tc.method, base+"/reflect?q="+url.QueryEscape(injected), nil)
			resp, err := newClient(t, proto).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			close(sent)
			be.await(t, "body sent")
			if isH2C(proto) {
				waitFor(t, "the Transport to drop the connection", func() bool { return be.closed.Load() == 1 })
			}
			resp, err = newClient(t, proto).Get(base + "/next")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "next" || resp.Header.Get("Content-Type") == "text/html" {
				t.Fatalf("next client got %d %q (%s), want its own answer", resp.StatusCode, body, resp.Header.Get("Content-Type"))
			}
		})
	}
}

// TestBytesAfterAnswerEnd: bytes that arrive with an answer, past its
// declared end, are counted and the connection is not pooled.
func TestBytesAfterAnswerEnd(t *testing.T) { forEachProto(t, testBytesAfterAnswerEnd) }

func testBytesAfterAnswerEnd(t *testing.T, proto *http.Client) {
	be := newRawServer(t, func(s *rawServer, nc net.Conn, br *bufio.Reader) {
		readRequests(br, func(r *http.Request) bool {
			if r.URL.Path == "/x" {
				io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"+injected) // one write
				return true
			}
			answer(nc, "own")
			return true
		})
	})
	sw := newTestSwitch(t, Options{}, "v", be.URL)
	base := serve(t, sw)
	if code, body := get(t, newClient(t, proto), base+"/x"); code != 200 || body != "x" {
		t.Fatalf("first: %d %q", code, body)
	}
	if isH2C(proto) {
		waitFor(t, "the Transport to drop the connection", func() bool { return be.closed.Load() == 1 })
	}
	if code, body := get(t, newClient(t, proto), base+"/y"); code != 200 || body != "own" {
		t.Fatalf("next client got %d %q", code, body)
	}
	if !isH2C(proto) && unsolicited(sw, "v") != uint64(len(injected)) {
		// The Transport reads the extra bytes with the answer; only the
		// fast path can count them.
		t.Fatalf("unsolicited = %d, want %d", unsolicited(sw, "v"), len(injected))
	}
}
