// Command slowclients measures what stalled clients hold in a switch: it
// runs a backend, starts a switchd binary in front of it, opens N clients
// per kind of stall, waits, and reports how many client connections the
// switch still holds open and how many upstream connections they still
// occupy at the backend (bench/proxy/slow.sh runs it for two builds).
//
// Stalls: "head" sends half a request head; "body" sends a head with
// Content-Length: 1000 and one byte of body; "idle" connects and sends
// nothing.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"time"
)

func main() {
	switchd := flag.String("switchd", "", "switchd binary to measure")
	label := flag.String("label", "switch", "name printed with the results")
	listen := flag.String("listen", "127.0.0.1:18190", "address switchd listens on")
	clients := flag.Int("clients", 200, "stalled clients per kind")
	hold := flag.Duration("hold", 60*time.Second, "how long the clients stall before counting")
	flag.Parse()
	if err := run(*switchd, *label, *listen, *clients, *hold); err != nil {
		slog.Error("slowclients", "err", err)
		os.Exit(1)
	}
}

func run(switchd, label, listen string, clients int, hold time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var upstream atomic.Int64 // the backend's open connections
	be := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok")
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				upstream.Add(1)
			case http.StateClosed, http.StateHijacked:
				upstream.Add(-1)
			}
		},
	}
	go be.Serve(ln)
	defer be.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, switchd, "-procs", "1", "-listen", listen, "-upstream", "http://"+ln.Addr().String())
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		cancel()
		return err
	}
	defer func() { cancel(); cmd.Wait() }() // stops switchd (SIGKILL), then reaps it
	if err := waitUp(listen); err != nil {
		return err
	}

	stalls := map[string]string{
		"head": "GET / HTTP/1.1\r\nHost: bench\r\nX-Half: ",
		"body": "POST / HTTP/1.1\r\nHost: bench\r\nContent-Length: 1000\r\n\r\nx",
		"idle": "",
	}
	conns := map[string][]net.Conn{}
	for kind, send := range stalls {
		for range clients {
			nc, err := net.Dial("tcp", listen)
			if err != nil {
				return fmt.Errorf("%s client: %w", kind, err)
			}
			defer nc.Close()
			if _, err := io.WriteString(nc, send); err != nil {
				return err
			}
			conns[kind] = append(conns[kind], nc)
		}
	}
	start := time.Now()
	time.Sleep(hold)
	for _, kind := range []string{"head", "body", "idle"} {
		held := 0
		for _, nc := range conns[kind] {
			if open(nc) {
				held++
			}
		}
		fmt.Printf("%-10s %-5s %4d clients: %4d still connected after %s\n", label, kind, clients, held, time.Since(start).Round(time.Second))
	}
	// Counts the readiness probe's pooled connection too, if still open.
	fmt.Printf("%-10s %4d upstream connections open at the backend\n", label, upstream.Load())
	return nil
}

// open reports whether the switch still holds nc: nothing to read within a
// moment, rather than EOF or a reset (an answer, say a 408, counts as
// closed once the switch ends the connection after it).
func open(nc net.Conn) bool {
	br := bufio.NewReader(nc)
	for {
		nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := br.ReadByte(); err != nil {
			var ne net.Error
			return errors.As(err, &ne) && ne.Timeout()
		}
	}
}

func waitUp(addr string) error {
	for range 100 {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("switchd did not come up on %s", addr)
}
