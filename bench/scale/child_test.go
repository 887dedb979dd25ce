//go:build linux

package scale_bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The synthetic exporter, the switch's upstream and the traffic run in
// child processes (this test binary again, with roleEnv set), so that the
// process CPU and memory measured here are ripcord's alone.
const roleEnv = "RIPCORD_SCALE_ROLE"

// perVersion is each version's request rate at the exporter, req/s.
const perVersion = 10

// child starts this binary in role with args and returns the address it
// prints on its first line; it is killed (by PID) when the test ends.
func child(t *testing.T, role string, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestChild$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, "RIPCORD_SCALE_ARGS="+strings.Join(args, " "))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the benchmark
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("%s child: %v", role, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return strings.TrimSpace(line)
}

// TestChild is the child processes' entry point; without roleEnv it does
// nothing.
func TestChild(t *testing.T) {
	role := os.Getenv(roleEnv)
	if role == "" {
		t.Skip("run as a child of TestScale")
	}
	args := strings.Fields(os.Getenv("RIPCORD_SCALE_ARGS"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	switch role {
	case "exporter":
		n, _ := strconv.Atoi(args[0])
		h = newExporter(n)
	case "upstream":
		h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	case "load":
		h = http.HandlerFunc(loadHandler)
	default:
		t.Fatalf("unknown role %s", role)
	}
	fmt.Println(ln.Addr().String())
	_ = http.Serve(ln, h)
}

// exporter serves http_requests_total{service,version,code} for n services
// × versions v1 and v2, each version at perVersion req/s since start, and
// a fault: POST /fault?service=S&version=V&pm=P makes P per mille of that
// version's requests from then on 500s.
type exporter struct {
	n     int
	start time.Time
	mu    sync.Mutex
	fault map[[2]string]fault
}

type fault struct {
	at time.Time
	pm float64
}

func newExporter(n int) *exporter {
	return &exporter{n: n, start: time.Now(), fault: map[[2]string]fault{}}
}

func (e *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/fault" {
		pm, _ := strconv.ParseFloat(r.FormValue("pm"), 64)
		e.mu.Lock()
		e.fault[[2]string{r.FormValue("service"), r.FormValue("version")}] = fault{at: time.Now(), pm: pm}
		e.mu.Unlock()
		return
	}
	now := time.Now()
	total := float64(int64(now.Sub(e.start).Seconds() * perVersion))
	e.mu.Lock()
	faults := make(map[[2]string]fault, len(e.fault))
	for k, v := range e.fault {
		faults[k] = v
	}
	e.mu.Unlock()
	var b bytes.Buffer
	b.Grow(e.n * 2 * 2 * 64)
	b.WriteString("# TYPE http_requests_total counter\n")
	for i := range e.n {
		svc := serviceName(i)
		for _, ver := range []string{"v1", "v2"} {
			bad := 0.0
			if f, ok := faults[[2]string{svc, ver}]; ok {
				bad = float64(int64(now.Sub(f.at).Seconds() * perVersion * f.pm / 1000))
			}
			for _, c := range []struct {
				code string
				v    float64
			}{{"200", total - bad}, {"500", bad}} {
				b.WriteString(`http_requests_total{service="`)
				b.WriteString(svc)
				b.WriteString(`",version="`)
				b.WriteString(ver)
				b.WriteString(`",code="`)
				b.WriteString(c.code)
				b.WriteString(`"} `)
				b.Write(strconv.AppendFloat(nil, c.v, 'f', -1, 64))
				b.WriteByte('\n')
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write(b.Bytes())
}

func serviceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// loadHandler: POST /run?rate=R&for=D with one URL a line in the body
// sends R req/s, open loop, round robin over the URLs for D, then answers.
func loadHandler(w http.ResponseWriter, r *http.Request) {
	rate, _ := strconv.Atoi(r.FormValue("rate"))
	d, _ := time.ParseDuration(r.FormValue("for"))
	body, _ := io.ReadAll(r.Body)
	urls := strings.Fields(string(body))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var sent, failed int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := rand.IntN(len(urls)); ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			fmt.Fprintf(w, "%d %d\n", sent, failed)
			return
		case <-tick.C:
		}
		u := urls[i%len(urls)]
		sent++
		wg.Go(func() {
			resp, err := c.Get(u)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		})
	}
}
