//go:build linux

package scale_bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/app"
)

// apiReads sends rate req/s of API reads, open loop (a request starts on
// its tick whether or not the earlier ones have answered), for d: first
// only single services' status, then one list in ten (GET
// /api/v1/services as a client that does not page sends it: the first
// page). It reports p50/p99 of each kind, and the size and time of the
// first page and of paging through every service.
func apiReads(t *testing.T, a *app.App, n, rate int, d time.Duration) {
	tok, _ := a.LocalToken()
	base := "http://" + a.APIAddr() + "/api/v1/services"
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	get := func(u string) (time.Duration, int, error) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("%s: %s", u, resp.Status)
		}
		return time.Since(t0), len(b), err
	}
	_, size, err := get(base)
	if err != nil {
		t.Fatal(err)
	}
	var all []json.RawMessage
	whole, t0 := 0, time.Now()
	for u := base + "?limit=1000"; u != ""; {
		b, next, err := getPage(c, u, tok)
		if err != nil {
			t.Fatal(err)
		}
		var page []json.RawMessage
		_ = json.Unmarshal(b, &page)
		all, whole = append(all, page...), whole+len(b)
		u = next
	}
	fmt.Printf("api: GET /api/v1/services answers %.2f MB (the first page); every one of the %d services, paged 1,000 at a time: %.1f MB in %s\n",
		float64(size)/(1<<20), len(all), float64(whole)/(1<<20), time.Since(t0).Round(time.Millisecond))
	for _, listEvery := range []int{0, 10} {
		var mu sync.Mutex
		lat := map[string][]time.Duration{}
		errs := 0
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / time.Duration(rate))
		end := time.Now().Add(d)
		for i := 0; time.Now().Before(end); i++ {
			<-tick.C
			kind, u := "status", fmt.Sprintf("%s/%s", base, serviceName(rand.IntN(n)))
			if listEvery > 0 && i%listEvery == 0 {
				kind, u = "list", base
			}
			wg.Go(func() {
				took, _, err := get(u)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					return
				}
				lat[kind] = append(lat[kind], took)
			})
		}
		tick.Stop()
		wg.Wait()
		mix := "single-service status only"
		if listEvery > 0 {
			mix = fmt.Sprintf("one list in %d", listEvery)
		}
		for _, kind := range []string{"status", "list"} {
			ls := lat[kind]
			if len(ls) == 0 {
				continue
			}
			slices.Sort(ls)
			fmt.Printf("api %d req/s (%s): %s n=%d p50 %s p99 %s max %s  errors %d\n", rate, mix, kind, len(ls),
				ls[len(ls)/2].Round(10*time.Microsecond), ls[len(ls)*99/100].Round(10*time.Microsecond), ls[len(ls)-1].Round(10*time.Microsecond), errs)
		}
	}
}

// promQueries is Prometheus's own count of instant queries answered, from
// its /metrics (promtest's Prometheus does not scrape itself).
func promQueries(t *testing.T, promURL string) float64 {
	resp, err := http.Get(promURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	sum := 0.0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "prometheus_http_requests_total{") && strings.Contains(l, `handler="/api/v1/query"`) {
			var v float64
			f := strings.Fields(l)
			_, _ = fmt.Sscan(f[len(f)-1], &v)
			sum += v
		}
	}
	return sum
}

// getPage is one page of a list and the URL of the next ("" after the
// last), from its Link header.
func getPage(c *http.Client, u, tok string) ([]byte, string, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	next := ""
	if l := resp.Header.Get("Link"); strings.HasPrefix(l, "</") {
		if end := strings.Index(l, ">"); end > 0 {
			next = "http://" + req.URL.Host + l[1:end]
		}
	}
	return b, next, err
}
