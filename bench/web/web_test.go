// Package web measures the dashboard: see run.sh.
package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/store"
	"github.com/ripcord/ripcord/internal/store/sqlite"
	"github.com/ripcord/ripcord/internal/testenv"
)

const (
	viewer   = "bench-viewer-token-0123456789abcdef"
	operator = "bench-operator-token-0123456789abcdef"
)

func cfgFor(db string, n int, backends []string) *config.Config {
	cfg := &config.Config{API: config.API{Listen: "127.0.0.1:0", Tokens: []config.Token{
		{Name: "vera", Role: config.RoleViewer, Value: viewer}, {Name: "otto", Role: config.RoleOperator, Value: operator}}},
		Store: config.Store{URL: "sqlite://" + db}, Reports: config.Reports{Dir: filepath.Join(filepath.Dir(db), "reports")}}
	for i := range n {
		cfg.Services = append(cfg.Services, config.Service{Name: fmt.Sprintf("svc-%03d", i), Proxy: config.Proxy{Listen: "127.0.0.1:0"},
			Policy: config.DefaultPolicy(), Active: "v2", Versions: []config.Version{{Name: "v1", URL: backends[0]}, {Name: "v2", URL: backends[1]}}})
	}
	return cfg
}

// TestMain doubles as the daemon: with BENCH_WEB_DB set the binary runs
// ripcord (the app, as `ripcord serve` does) and prints its API address.
func TestMain(m *testing.M) {
	if db := os.Getenv("BENCH_WEB_DB"); db != "" {
		n, _ := strconv.Atoi(os.Getenv("BENCH_WEB_N"))
		a, err := app.New(context.Background(), cfgFor(db, n, strings.Split(os.Getenv("BENCH_WEB_BACKENDS"), ",")), app.Options{StateDir: filepath.Dir(db)})
		if err == nil {
			err = a.Start(context.Background())
		}
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("API", a.APIAddr())
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Stop(ctx)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type daemon struct {
	url string
	cmd *exec.Cmd
}

func backend(t *testing.T, name string) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
	t.Cleanup(s.Close)
	return s.URL
}

func startDaemon(t *testing.T, n int, seed func(store.Store)) *daemon {
	db := filepath.Join(t.TempDir(), "ripcord.db")
	if seed != nil {
		st, err := sqlite.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		seed(st)
		_ = st.Close()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BENCH_WEB_DB="+db, "BENCH_WEB_N="+strconv.Itoa(n), "BENCH_WEB_BACKENDS="+backend(t, "v1")+","+backend(t, "v2"))
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "API "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return &daemon{url: "http://" + addr, cmd: cmd}
		}
		t.Log(sc.Text())
	}
	t.Fatal("daemon did not start")
	return nil
}

// cpu is the daemon's user+system CPU so far, from /proc.
func (d *daemon) cpu(t *testing.T) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func signedIn(t *testing.T, base, token string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm(base+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in: HTTP %d", resp.StatusCode)
	}
	return c
}

func chrome(t *testing.T) context.Context {
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, testenv.Chromium, "no chromium on PATH")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()))
	actx, c1 := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, c2 := chromedp.NewContext(actx)
	t.Cleanup(func() { c2(); c1() })
	return ctx
}

func signInChrome(t *testing.T, ctx context.Context, base string) {
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.SendKeys(chromedp.ID("token"), viewer),
		chromedp.Submit(chromedp.ID("token")), chromedp.WaitVisible(chromedp.ID("svc-count"))); err != nil {
		t.Fatal(err)
	}
}

func pctl(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

var renderedRE = regexp.MustCompile(`rendered in ([^<]+)</p>`)

// TestServicesPage500: 500 services with 15 minutes of per-version points
// (every 10 s): the Services page's server render time (the page says it)
// and the round trip, then first contentful paint in chromium.
func TestServicesPage500(t *testing.T) {
	testenv.Measurement(t, "dashboard services page, 500 services")
	now := time.Now()
	d := startDaemon(t, 500, func(st store.Store) {
		var pts []store.MetricPoint
		for i := range 500 {
			for k := range 90 {
				for _, v := range []string{"v1", "v2"} {
					pts = append(pts, store.MetricPoint{Service: fmt.Sprintf("svc-%03d", i), Version: v, At: now.Add(-time.Duration(k) * 10 * time.Second),
						Requests: 100, Errors: int64(k % 3), P50Ms: 10, P99Ms: float64(40 + k%20)})
				}
			}
		}
		if err := st.RecordMetrics(context.Background(), pts); err != nil {
			t.Fatal(err)
		}
	})
	c := signedIn(t, d.url, viewer)
	var server, total []time.Duration
	for i := range 40 {
		start := time.Now()
		resp, err := c.Get(d.url + "/?sort=verdict&page=" + strconv.Itoa(1+i%10))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		total = append(total, time.Since(start))
		m := renderedRE.FindSubmatch(body)
		if m == nil {
			t.Fatalf("no render time in the page (HTTP %d)", resp.StatusCode)
		}
		dd, err := time.ParseDuration(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		server = append(server, dd)
	}
	t.Logf("services page, 500 services, 50 rows a page, 40 loads: server render p50 %v p95 %v; round trip p50 %v p95 %v",
		pctl(server, .5), pctl(server, .95), pctl(total, .5), pctl(total, .95))
	ctx := chrome(t)
	signInChrome(t, ctx, d.url)
	var fcps []time.Duration
	for range 10 {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("svc-count"))); err != nil {
			t.Fatal(err)
		}
		fcp, err := chromedp.Run(ctx, chromedp.Poll[float64](`(performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime`))
		if err != nil {
			t.Fatal(err)
		}
		fcps = append(fcps, time.Duration(fcp*float64(time.Millisecond)))
	}
	t.Logf("chromium first contentful paint, 10 loads: p50 %v p95 %v (max %v)", pctl(fcps, .5), pctl(fcps, .95), slices.Max(fcps))
}

// TestSSEFanout: 100 Go SSE clients and one chromium on the Services page
// while 10 rollbacks happen (each after a fresh deploy): the time from the
// rollback call to each client's change event, and the daemon's CPU.
func TestSSEFanout(t *testing.T) {
	testenv.Measurement(t, "dashboard SSE fan-out")
	d := startDaemon(t, 1, nil)
	op := apiclient.New(d.url, operator)
	const clients, rounds = 100, 10
	var mu sync.Mutex
	got := make(chan time.Time, clients*rounds*4)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := sync.WaitGroup{}
	for range clients {
		c := signedIn(t, d.url, viewer)
		c.Timeout = 0
		ready.Add(1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.url+"/events", nil)
			resp, err := c.Do(req)
			if err != nil {
				ready.Done()
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			first := true
			for sc.Scan() {
				if sc.Text() == "event: hello" && first {
					first = false
					ready.Done()
				}
				if sc.Text() == "event: change" {
					mu.Lock()
					got <- time.Now()
					mu.Unlock()
				}
			}
		}()
	}
	ready.Wait()
	bctx := chrome(t)
	signInChrome(t, bctx, d.url)
	if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](`document.getElementById("live").dataset.state === "on"`)); err != nil {
		t.Fatal(err)
	}
	var lat, browser []time.Duration
	cpu0, wall0 := d.cpu(t), time.Now()
	v3 := backend(t, "v3")
	for r := range rounds {
		ver := fmt.Sprintf("r%d", r)
		if _, err := op.Deploy(ctx, "svc-000", ver, v3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // let the deploy's own change pass
		drain(got)
		start := time.Now()
		if _, err := op.Rollback(ctx, "svc-000", "", "bench"); err != nil {
			t.Fatal(err)
		}
		for range clients {
			select {
			case at := <-got:
				lat = append(lat, at.Sub(start))
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: only %d of %d clients heard the rollback", r, len(lat)%clients, clients)
			}
		}
		if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](`!document.querySelector('tr[data-service="svc-000"] td').textContent.includes("`+ver+`")`,
			chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
		browser = append(browser, time.Since(start))
	}
	cpu, wall := d.cpu(t)-cpu0, time.Since(wall0)
	t.Logf("SSE fan-out, %d Go clients + 1 chromium, %d rollbacks: delivery p50 %v p99 %v max %v; chromium page updated p50 %v max %v; daemon CPU %v over %v (%.1f%% of one core, deploys included)",
		clients, rounds, pctl(lat, .5), pctl(lat, .99), slices.Max(lat), pctl(browser, .5), slices.Max(browser), cpu, wall.Round(time.Millisecond), 100*cpu.Seconds()/wall.Seconds())
}

func drain(c chan time.Time) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
