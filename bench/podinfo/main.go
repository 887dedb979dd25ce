// Command podinfo measures ripcord on a workload it did not write: podinfo
// (the demo service Flagger's own end-to-end tests deploy), built from the
// Go module proxy, as v1 and v2 behind `ripcord serve`, with open-loop load
// at a fixed rate. Each run deploys v2 through the API and reports whether
// and when traffic went back to v1, how many requests v2 served, and the
// verdict ripcord gave.
//
//	bash bench/podinfo/run.sh                       # every scenario, 5 runs each
//	go run ./bench/podinfo -podinfo BIN -ripcord BIN -scenario error -policy default
//
// Scenarios: error (v2 --random-error), latency (v2 answers in 3–5 s),
// slow12 (v2 answers in 12 s, past the 10 s critical bound), healthy (v2 as
// good as v1, watched for -watch: any rollback is a false one).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	podinfo := flag.String("podinfo", "", "podinfo binary")
	ripcord := flag.String("ripcord", "", "ripcord binary")
	scenario := flag.String("scenario", "error", "error | latency | slow12 | healthy")
	policy := flag.String("policy", "default", "default | require1 | baseline (require 1, latency_p99_ms max_increase 0.2)")
	rate := flag.Int("rate", 200, "requests per second, open loop")
	runs := flag.Int("runs", 5, "runs")
	watch := flag.Duration("watch", 30*time.Second, "how long to wait for a rollback (healthy: how long v2 is watched)")
	flag.Parse()
	if *podinfo == "" || *ripcord == "" {
		fmt.Fprintln(os.Stderr, "podinfo: -podinfo and -ripcord are required (bench/podinfo/run.sh builds both)")
		os.Exit(2)
	}
	var switched, served []float64
	for i := 0; i < *runs; i++ {
		r, err := run(*podinfo, *ripcord, *scenario, *policy, *rate, *watch)
		if err != nil {
			fmt.Fprintf(os.Stderr, "run %d: %v\n", i+1, err)
			os.Exit(1)
		}
		fmt.Printf("run %d: %s/%s %d req/s: rolled back %v after %.2f s, v2 served %d; verdict: %s\n",
			i+1, *scenario, *policy, *rate, r.rolledBack, r.after.Seconds(), r.servedByV2, r.reason)
		if r.rolledBack {
			switched = append(switched, r.after.Seconds())
		}
		served = append(served, float64(r.servedByV2))
	}
	fmt.Printf("summary %s/%s %d req/s: %d of %d rolled back; switch median %s (min %s, max %s); v2 served median %.0f\n",
		*scenario, *policy, *rate, len(switched), *runs, secs(switched, 50), secs(switched, 0), secs(switched, 100), pct(served, 50))
}

type result struct {
	rolledBack bool
	after      time.Duration
	servedByV2 int64
	reason     string
}

func run(podinfo, ripcord, scenario, policy string, rate int, watch time.Duration) (result, error) {
	dir, err := os.MkdirTemp("", "ripcord-podinfo-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	ports, err := freePorts(5)
	if err != nil {
		return result{}, err
	}
	v1Port, v2Port, apiPort, proxyPort := ports[0], ports[1], ports[2], ports[3]
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs { // only the processes this run started, by PID
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}()
	start := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		log, err := os.Create(filepath.Join(dir, filepath.Base(name)+strconv.Itoa(len(procs))+".log"))
		if err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
		return nil
	}
	if err := start(podinfo, "--port", strconv.Itoa(v1Port), "--port-metrics", "0", "--level", "error"); err != nil {
		return result{}, err
	}
	v2Args := []string{"--port", strconv.Itoa(v2Port), "--port-metrics", "0", "--level", "error"}
	switch scenario {
	case "error":
		v2Args = append(v2Args, "--random-error")
	case "latency":
		v2Args = append(v2Args, "--random-delay", "--random-delay-unit", "ms", "--random-delay-min", "3000", "--random-delay-max", "5000")
	case "slow12":
		v2Args = append(v2Args, "--random-delay", "--random-delay-unit", "ms", "--random-delay-min", "12000", "--random-delay-max", "12001")
	case "healthy":
	default:
		return result{}, fmt.Errorf("unknown scenario %q", scenario)
	}
	if err := start(podinfo, v2Args...); err != nil {
		return result{}, err
	}
	token := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.WriteFile(filepath.Join(dir, "op.token"), []byte(token+"\n"), 0o600); err != nil {
		return result{}, err
	}
	pol := ""
	switch policy {
	case "default":
	case "require1":
		pol = "    policy: {require: 1}\n"
	case "baseline":
		pol = "    policy:\n      require: 1\n      thresholds:\n        error_rate: {max: 0.05, critical: 0.25}\n        latency_p99_ms: {max: 3000, critical: 10000, baseline: {max_increase: 0.2}}\n"
	default:
		return result{}, fmt.Errorf("unknown policy %q", policy)
	}
	cfg := fmt.Sprintf(`api:
  listen: 127.0.0.1:%d
  tokens: [{name: bench, role: admin, token_file: op.token}]
store: {url: "sqlite://%s"}
services:
  - name: podinfo
    proxy: {listen: 127.0.0.1:%d}
    versions:
      - {name: v1, url: "http://127.0.0.1:%d"}
      - {name: v2, url: "http://127.0.0.1:%d"}
    active: v1
%s`, apiPort, filepath.Join(dir, "ripcord.db"), proxyPort, v1Port, v2Port, pol)
	cfgPath := filepath.Join(dir, "ripcord.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return result{}, err
	}
	if err := start(ripcord, "serve", "-c", cfgPath); err != nil {
		return result{}, err
	}
	api := &apiClient{base: fmt.Sprintf("http://127.0.0.1:%d", apiPort), token: token}
	for _, p := range []int{v1Port, v2Port} {
		if err := waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/healthz", p)); err != nil {
			return result{}, fmt.Errorf("podinfo: %w", err)
		}
	}
	if err := waitHTTP(api.base + "/healthz"); err != nil {
		return result{}, fmt.Errorf("ripcord: %w (see its log in %s)", err, dir)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go load(ctx, fmt.Sprintf("http://127.0.0.1:%d/", proxyPort), rate)
	time.Sleep(3 * time.Second) // v1 warm: connections open, a verdict reached
	deployed := time.Now()
	if _, err := api.post("/api/v1/services/podinfo/deploy", `{"version":"v2"}`); err != nil {
		return result{}, fmt.Errorf("deploy: %w", err)
	}
	var r result
	for time.Since(deployed) < watch {
		st, err := api.status()
		if err != nil {
			return result{}, err
		}
		r.reason = st.Reason
		if st.Active == "v1" {
			r.rolledBack, r.after = true, time.Since(deployed)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	r.servedByV2, err = api.served("v2")
	return r, err
}

// load sends GET url at rate per second, each on its own schedule whatever
// the answers take (open loop, as users do).
func load(ctx context.Context, url string, rate int) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096}, Timeout: 60 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var inflight atomic.Int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if inflight.Load() > 5000 {
				continue
			}
			inflight.Add(1)
			go func() {
				defer inflight.Add(-1)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if resp, err := c.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
	}
}

type apiClient struct{ base, token string }

func (a *apiClient) do(method, path, body string) ([]byte, error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b, err
}

func (a *apiClient) post(path, body string) ([]byte, error) { return a.do(http.MethodPost, path, body) }

type status struct {
	Active string `json:"active"`
	Reason string `json:"reason"`
}

func (a *apiClient) status() (status, error) {
	b, err := a.do(http.MethodGet, "/api/v1/services/podinfo", "")
	var st status
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

// served reads ripcord_proxy_requests_total for version from /metrics.
func (a *apiClient) served(version string) (int64, error) {
	b, err := a.do(http.MethodGet, "/metrics", "")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "ripcord_proxy_requests_total{") && strings.Contains(line, `version="`+version+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			return int64(v), err
		}
	}
	return 0, nil
}

func waitHTTP(url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New(url + " did not answer within 20 s")
}

func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func secs(xs []float64, p float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", pct(xs, p))
}
