// Command detect measures fault onset → traffic switched with the default
// policy: it plays `ripcord demo` (real backends, real switch, real SQLite,
// open-loop load) many times per request rate and prints median and p95 of
// the time from deploying the bad version to the switch back, and the blast
// radius (requests the bad version served, and requests that failed).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/demo"
)

func main() {
	runs := flag.Int("runs", 20, "runs per rate")
	rates := flag.String("rates", "200,1000", "request rates to measure, comma-separated")
	fault := flag.String("fault", demo.FaultError, "fault to inject")
	watch := flag.Duration("watch", 2*time.Second, "watch time per run")
	flag.Parse()
	fmt.Printf("fault onset → traffic switched, %d runs per rate, fault %q, default policy\n\n", *runs, *fault)
	fmt.Printf("%8s %6s %12s %12s %12s %12s %14s %14s %16s\n", "req/s", "runs", "switch p50", "switch p95", "detect p50", "detect p95", "served by bad", "failed (p50)", "share of watch")
	for _, r := range strings.Split(*rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad rate:", r)
			os.Exit(2)
		}
		if err := measure(rate, *runs, *fault, *watch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func measure(rate, runs int, fault string, watch time.Duration) error {
	var sw, det, served, failed, share []float64
	for i := 0; i < runs; i++ {
		res, err := demo.Run(context.Background(), demo.Options{Fault: fault, Rate: rate, Warmup: time.Second, Watch: watch,
			Out: io.Discard, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		if !res.RolledBack {
			return fmt.Errorf("run %d at %d req/s: not rolled back", i, rate)
		}
		sw = append(sw, res.RevertSeconds*1000)
		det = append(det, res.DetectSeconds*1000)
		served = append(served, float64(res.ServedByBad))
		failed = append(failed, float64(res.BadRequests))
		// Share of the traffic sent while watching that the bad version served.
		share = append(share, 100*float64(res.ServedByBad)/(float64(rate)*watch.Seconds()))
	}
	fmt.Printf("%8d %6d %10.0fms %10.0fms %10.0fms %10.0fms %14.0f %14.0f %15.1f%%\n", rate, runs,
		pct(sw, 50), pct(sw, 95), pct(det, 50), pct(det, 95), pct(served, 50), pct(failed, 50), pct(share, 50))
	return nil
}

// pct is the nearest-rank percentile.
func pct(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
