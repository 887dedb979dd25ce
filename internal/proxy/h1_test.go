package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawConn dials the switch for hand-written HTTP/1 exchanges.
func rawConn(t *testing.T, base string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return nc, bufio.NewReader(nc)
}

func readResp(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	for err == nil && resp.StatusCode < 200 { // 100 Continue
		resp, err = http.ReadResponse(br, &http.Request{Method: method})
	}
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func echoBackend(t *testing.T) *backend {
	return newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
			return
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		}
		w.Header().Set("X-Method", r.Method)
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+string(b))
	})
}

func TestFastPathPipeliningHeadAnd204(t *testing.T) {
	sw := newTestSwitch(t, Options{}, "v", echoBackend(t).URL)
	base := serve(t, sw)
	nc, br := rawConn(t, base)
	io.WriteString(nc, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"+
		"HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"+
		"PUT /d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
	want := []struct {
		method, body string
		code         int
	}{{"GET", "GET /a ", 200}, {"HEAD", "", 200}, {"GET", "", 204}, {"POST", "POST /c abcde", 200}, {"PUT", "PUT /d hello", 200}}
	for i, w := range want {
		resp, body := readResp(t, br, w.method)
		if resp.StatusCode != w.code || body != w.body {
			t.Fatalf("response %d: %d %q, want %d %q", i, resp.StatusCode, body, w.code, w.body)
		}
		if i == 1 && resp.ContentLength != int64(len("HEAD /b ")) {
			t.Fatalf("HEAD lost Content-Length: %d", resp.ContentLength)
		}
		if i == 4 && !resp.Close {
			t.Fatal("Connection: close not honoured")
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed after Connection: close: %v", err)
	}
	if s := stats(sw, "v"); s.Requests != 5 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFastPathHandsOffWhatItDoesNotSpeak(t *testing.T) {
	sw := newTestSwitch(t, Options{}, "v", echoBackend(t).URL)
	base := serve(t, sw)
	cases := map[string]string{
		"HTTP/1.0":    "GET /old HTTP/1.0\r\nHost: x\r\n\r\n",
		"Expect":      "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
		"big header":  "GET /big HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 6000) + "\r\nConnection: close\r\n\r\n",
		"absolute":    "GET http://x/abs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"no host":     "GET /nohost HTTP/1.1\r\nConnection: close\r\n\r\n",
		"space":       "GET /a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"bare CR":     "GET /cr HTTP/1.1\r\nHost: x\r\nX-A: 1\rX-B: 2\r\nConnection: close\r\n\r\n",
		"CL and TE":   "POST /te HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
		"after first": "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.0\r\nHost: x\r\n\r\n",
	}
	want := map[string][]int{"no host": {400}, "after first": {200, 200}, "space": {400}, "bare CR": {400}}
	for name, raw := range cases {
		nc, br := rawConn(t, base)
		io.WriteString(nc, raw)
		codes := want[name]
		if codes == nil {
			codes = []int{200}
		}
		for _, code := range codes {
			resp, body := readResp(t, br, "GET")
			if resp.StatusCode != code {
				t.Errorf("%s: status %d (%q), want %d", name, resp.StatusCode, body, code)
			}
		}
	}
}

// oneShotBackend answers one request per connection, with a body delimited
// by closing the connection, and closes without saying so beforehand.
func oneShotBackend(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close body")
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestFastPathCloseDelimitedAndStaleConnections(t *testing.T) {
	sw := newTestSwitch(t, Options{}, "v", oneShotBackend(t))
	base := serve(t, sw)
	nc, br := rawConn(t, base)
	for i := range 3 { // the same client connection, a new upstream one each time
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := readResp(t, br, "GET")
		if resp.StatusCode != 200 || body != "until-close body" || len(resp.TransferEncoding) == 0 {
			t.Fatalf("request %d: %d %q %v", i, resp.StatusCode, body, resp.TransferEncoding)
		}
	}
	if s := stats(sw, "v"); s.Requests != 3 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// The upstream closes idle keep-alive connections after 20 ms, without
// Connection: close, as upstreams with short keep-alive timeouts do.
func TestFastPathUpstreamClosedIdleConnection(t *testing.T) {
	be := newBackend(t, named("x"), func(s *http.Server) { s.IdleTimeout = 20 * time.Millisecond })
	sw := newTestSwitch(t, Options{}, "v", be.URL)
	base := serve(t, sw)
	c := &http.Client{Transport: &http.Transport{}}
	for i := range 4 {
		if code, body := get(t, c, base+"/"); code != 200 || body != "x" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
		waitFor(t, "the upstream to close its idle connection", func() bool { return be.conns.Load() == 0 })
	}
	if s := stats(sw, "v"); s.Errors != 0 {
		t.Fatalf("stale upstream connections counted as errors: %+v", s)
	}
}

func TestFastPathErrorsCloseWithBody(t *testing.T) {
	sw := New(Options{})
	base := serve(t, sw)
	nc, br := rawConn(t, base)
	io.WriteString(nc, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	resp, _ := readResp(t, br, "POST")
	if resp.StatusCode != 503 || !resp.Close {
		t.Fatalf("no version, body unread: %d close=%v, want 503 and close", resp.StatusCode, resp.Close)
	}
}

func TestLargeBodiesAndTrailers(t *testing.T) { forEachProto(t, testLargeBodiesAndTrailers) }

func testLargeBodiesAndTrailers(t *testing.T, c *http.Client) {
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		got, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Sum")
		w.Write(got) // echoed back, chunked (no length set)
		w.Write(got)
		w.Header().Set("X-Sum", strconv.Itoa(len(got)))
	})
	sw := newTestSwitch(t, Options{}, "v", be.URL)
	base := serve(t, sw)
	up := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(up)
		if chunked {
			body = io.MultiReader(body)
		}
		resp, err := c.Post(base+"/echo", "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(got) != 2*len(up) || string(got[:len(up)]) != up || string(got[len(up):]) != up {
			t.Fatalf("chunked=%v: %d bytes back, err %v", chunked, len(got), err)
		}
		if resp.Trailer.Get("X-Sum") != strconv.Itoa(len(up)) {
			t.Fatalf("chunked=%v: trailer %v", chunked, resp.Trailer)
		}
	}
	if s := stats(sw, "v"); s.Requests != 2 || s.Errors != 0 {
		t.Fatalf("stats %v", s)
	}
}
