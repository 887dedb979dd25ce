// Command detect measures fault onset → traffic switched: it plays
// `ripcord demo` (real backends, real switch, real SQLite, open-loop load)
// many times per case and prints median and p95 of the time from deploying
// the bad version to the switch back, and the blast radius (requests the
// bad version served, and requests that failed).
//
// -table blast prints the blast-radius table of issue 11: error faults of
// 25, 50 and 100 % × the given rates, under require: 1 (the 5 % max
// decides) and the default policy (the 25 % critical bound decides), next
// to the exact SPRT's expected sample number for the bound tested.
// -table latency prints the latency faults: require: 1 with 3–5 s answers,
// a baseline max_increase of 0.2 on latency_p99_ms, and the default policy
// with 12 s answers. At 1,000 req/s the 12 s case holds ~10,000 requests
// open at the switch, four descriptors each in this one process: run it
// where the descriptor limit allows (-only selects cases).
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

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/demo"
)

// scenario is one row: a fault, a policy, and what the SPRT needs for it.
type scenario struct {
	name       string
	fault      string
	errShare   float64
	dmin, dmax time.Duration
	policy     func(*config.Policy)
	sprt       float64 // expected sample number, 0 if not applicable
	goal       time.Duration
	watch      time.Duration
}

// defaultThresholds is the default policy as a user gets it (not the demo's
// tighter latency bounds), with require set.
func defaultThresholds(require int) func(*config.Policy) {
	return func(p *config.Policy) {
		p.Thresholds = config.DefaultThresholds()
		p.Require = require
	}
}

func blastTable() []scenario {
	var out []scenario
	for _, c := range []struct {
		share   float64
		require int
		sprt    float64
	}{{0.25, 1, 36.8}, {0.5, 1, 15.5}, {1, 1, 7.0}, {0.5, 2, 33.4}, {1, 2, 7.0}} {
		out = append(out, scenario{name: fmt.Sprintf("errors %3.0f%% require %d", 100*c.share, c.require),
			fault: demo.FaultError, errShare: c.share, policy: defaultThresholds(c.require), sprt: c.sprt, watch: 2 * time.Second})
	}
	return out
}

func latencyTable() []scenario {
	inc := 0.2
	return []scenario{
		{name: "3-5 s answers, require 1", fault: demo.FaultLatency, dmin: 3 * time.Second, dmax: 5 * time.Second,
			policy: defaultThresholds(1), goal: 3200 * time.Millisecond, watch: 6 * time.Second},
		{name: "3-5 s answers, baseline +20%", fault: demo.FaultLatency, dmin: 3 * time.Second, dmax: 5 * time.Second,
			policy: func(p *config.Policy) {
				defaultThresholds(1)(p)
				t := p.Thresholds["latency_p99_ms"]
				t.Baseline = &config.Baseline{MaxIncrease: &inc}
				p.Thresholds["latency_p99_ms"] = t
			}, goal: 500 * time.Millisecond, watch: 3 * time.Second},
		{name: "12 s answers, default policy", fault: demo.FaultLatency, dmin: 12 * time.Second, dmax: 12 * time.Second,
			policy: defaultThresholds(2), goal: 10200 * time.Millisecond, watch: 12 * time.Second},
	}
}

func main() {
	runs := flag.Int("runs", 20, "runs per case")
	rates := flag.String("rates", "200,1000", "request rates to measure, comma-separated")
	fault := flag.String("fault", demo.FaultError, "fault to inject (without -table: the demo's own faults and policy)")
	watch := flag.Duration("watch", 2*time.Second, "watch time per run (without -table)")
	table := flag.String("table", "", "blast | latency: the issue-11 tables")
	only := flag.String("only", "", "run only the cases whose name contains this")
	flag.Parse()
	var cases []scenario
	switch *table {
	case "":
		cases = []scenario{{name: *fault + ", demo policy", fault: *fault, watch: *watch}}
	case "blast":
		cases = blastTable()
	case "latency":
		cases = latencyTable()
	default:
		fmt.Fprintln(os.Stderr, "-table: blast or latency")
		os.Exit(2)
	}
	fmt.Printf("fault onset → traffic switched, %d runs per case\n\n", *runs)
	fmt.Printf("%-30s %6s %6s %10s %10s %10s %10s %10s %10s %8s\n", "case", "req/s", "SPRT", "served p50", "served p95", "/SPRT",
		"switch p50", "switch p95", "detect p50", "failed")
	for _, r := range strings.Split(*rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad rate:", r)
			os.Exit(2)
		}
		for _, sc := range cases {
			if !strings.Contains(sc.name, *only) {
				continue
			}
			if err := measure(sc, rate, *runs); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
}

func measure(sc scenario, rate, runs int) error {
	var sw, det, served, failed []float64
	missed := 0
	for i := 0; i < runs; i++ {
		res, err := demo.Run(context.Background(), demo.Options{Fault: sc.fault, Rate: rate, Warmup: time.Second, Watch: sc.watch,
			ErrorShare: sc.errShare, DelayMin: sc.dmin, DelayMax: sc.dmax, Policy: sc.policy,
			Out: io.Discard, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		if !res.RolledBack {
			// Reported, not fatal: one bad run (a machine stall that piles
			// up connections) should not hide the other nineteen.
			fmt.Fprintf(os.Stderr, "%s, run %d at %d req/s: not rolled back within the watch (%d requests served by the bad version)\n",
				sc.name, i, rate, res.ServedByBad)
			missed++
			continue
		}
		sw = append(sw, res.RevertSeconds*1000)
		det = append(det, res.DetectSeconds*1000)
		served = append(served, float64(res.ServedByBad))
		failed = append(failed, float64(res.BadRequests))
	}
	if len(sw) == 0 {
		return fmt.Errorf("%s at %d req/s: no run rolled back", sc.name, rate)
	}
	ratio, sprt := "", ""
	if sc.sprt > 0 {
		ratio, sprt = fmt.Sprintf("%.2fx", pct(served, 50)/sc.sprt), fmt.Sprintf("%.1f", sc.sprt)
	}
	if sc.goal > 0 {
		ratio = fmt.Sprintf("≤%v", sc.goal)
	}
	fmt.Printf("%-30s %6d %6s %10.0f %10.0f %10s %8.0fms %8.0fms %8.0fms %8.0f", sc.name, rate, sprt,
		pct(served, 50), pct(served, 95), ratio, pct(sw, 50), pct(sw, 95), pct(det, 50), pct(failed, 50))
	if missed > 0 {
		fmt.Printf("  (%d of %d runs not rolled back)", missed, runs)
	}
	fmt.Println()
	return nil
}

// pct is the nearest-rank percentile.
func pct(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
