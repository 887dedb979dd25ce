package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// echoUpgrader answers an Upgrade: websocket request with 101 and then
// echoes bytes, like a WebSocket server after its handshake.
func echoUpgrader(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "want Upgrade: websocket", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	_ = brw.Flush()
	_, _ = io.Copy(conn, brw)
}

// TestUpgradeIsRelayed: a WebSocket-style upgrade passes through the switch
// (Connection: Upgrade kept, 101 relayed, bytes spliced both ways) and is
// counted for the version.
func TestUpgradeIsRelayed(t *testing.T) {
	b := newBackend(t, echoUpgrader)
	sw := newTestSwitch(t, Options{}, "v1", b.URL)
	base := serve(t, sw)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: svc\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("handshake answer %s %v", resp.Status, resp.Header)
	}
	for _, msg := range []string{"ping\n", "second message\n"} {
		_, _ = io.WriteString(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo %q, %v; want %q", got, err, msg)
		}
	}
	if tot := sw.Totals()["v1"]; tot.Requests != 1 || tot.Errors != 0 {
		t.Fatalf("totals %+v, want the upgrade counted once", tot)
	}
}
