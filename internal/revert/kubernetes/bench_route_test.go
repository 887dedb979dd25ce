package kubernetes

import (
	"context"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/revert"
)

// BenchmarkHTTPRouteRollback measures, on the kwok control plane, the time
// from a bad verdict (the controller calling Revert) to the HTTPRoute's
// weights being written (the API server's answer to the one PATCH), with
// the canary at 50 % before each rollback. ns/op is the whole Revert call,
// which also records the Event.
//
//	nice -n 10 go test -run '^$' -bench HTTPRouteRollback -benchtime 50x ./internal/revert/kubernetes/
func BenchmarkHTTPRouteRollback(b *testing.B) {
	needCluster(b)
	needGatewayAPI(b)
	tg, log, _, _ := routeFixture(b, testHTTPRoute, nil)
	ctx := context.Background()
	var written, get, patch time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-canary", 50); err != nil {
			b.Fatal(err)
		}
		log.reset()
		b.StartTimer()
		start := time.Now()
		if _, err := tg.Revert(ctx, revert.Request{Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if log.count("PATCH", "/httproutes/") != 1 {
			b.Fatalf("%d PATCHes", log.count("PATCH", "/httproutes/"))
		}
		written += log.lastEnd("PATCH", "/httproutes/").Sub(start)
		get += log.last("GET", "/httproutes/")
		patch += log.last("PATCH", "/httproutes/")
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(written.Microseconds())/1000/n, "ms-verdict-to-written")
	b.ReportMetric(float64(get.Microseconds())/1000/n, "ms-get")
	b.ReportMetric(float64(patch.Microseconds())/1000/n, "ms-patch")
}

// BenchmarkHTTPRouteCanarySteps measures, on the kwok control plane, a
// canary's share changes through the default steps (1, 5, 25, 50, 100 %):
// each is the controller's SetWeight after its decision, one GET and one
// PATCH of the HTTPRoute's two backendRef weights. ns/op is the five steps
// together (the route is put back at 0 % untimed before each iteration);
// ms-per-step is one share change, decision to weight written.
//
//	nice -n 10 go test -run '^$' -bench HTTPRouteCanarySteps -benchtime 20x ./internal/revert/kubernetes/
func BenchmarkHTTPRouteCanarySteps(b *testing.B) {
	needCluster(b)
	needGatewayAPI(b)
	tg, log, _, _ := routeFixture(b, testHTTPRoute, nil)
	ctx := context.Background()
	steps := []int{1, 5, 25, 50, 100}
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-canary", 0); err != nil {
			b.Fatal(err)
		}
		log.reset()
		b.StartTimer()
		start := time.Now()
		for _, pct := range steps {
			if err := tg.SetWeight(ctx, "llm-api", "llm-api-stable", "llm-api-canary", pct); err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
		b.StopTimer()
		if n := log.count("PATCH", "/httproutes/"); n != len(steps) {
			b.Fatalf("%d PATCHes for %d steps", n, len(steps))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N*len(steps)), "ms-per-step")
}
