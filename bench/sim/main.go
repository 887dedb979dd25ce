// Command sim measures false rollbacks and detection delay of ripcord's
// verdicts by simulation: many healthy deploys, each watched through bake
// and an hour after, under several traffic shapes and request rates; then
// the same shapes with a real fault starting at a random moment.
//
// It drives detect.Guard — the pure verdict the controller acts on — with
// per-slot binomial counts (simulating every request would be too slow for
// 10,000 deploys of 70 minutes) and reports, per shape and rate, how many
// healthy deploys were ever judged Degraded (would be rolled back) against
// the policy's alpha, how many were Suspect for longer than suspect_grace
// (would open a "not reverted" incident), and the delay from fault onset to
// Degraded.
//
//	go run ./bench/sim -deploys 10000
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/signal"
)

func main() {
	deploys := flag.Int("deploys", 10000, "healthy deploys in all (split evenly over shapes and rates)")
	faults := flag.Int("faults", 2000, "deploys with a fault in all")
	watch := flag.Duration("watch", 70*time.Minute, "how long each deploy is watched (bake + an hour)")
	slot := flag.Duration("slot", time.Second, "evidence batch length for healthy stretches")
	alpha := flag.Float64("alpha", detect.DefaultAlpha, "the policy's false-rollback budget")
	require := flag.Int("require", 2, "anomalous metrics needed (the policy's require)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()

	pol := policy(*alpha, *require)
	cells := grid()
	per := max(1, *deploys/len(cells))
	fper := max(1, *faults/len(cells))
	fmt.Printf("policy: require %d, alpha %g, sustain %s; %d healthy deploys per cell watched %s, %d faulty\n\n",
		*require, *alpha, pol.Sustain, per, *watch, fper)
	results := runAll(cells, pol, per, fper, *watch, *slot, *seed)
	print(os.Stdout, results, *alpha)
}

// shape is one kind of healthy traffic.
type shape struct {
	name string
	// errRate and slowShare are the true error rate and share of answers
	// slower than the latency bound in second s of deploy d.
	errRate   func(r *rand.Rand, base float64) float64
	slowShare func(r *rand.Rand) float64
	base      func(r *rand.Rand) float64 // per deploy
	burst     bool
}

var shapes = []shape{
	{name: "noisy errors 1-3%",
		base:      func(r *rand.Rand) float64 { return 0.01 + 0.02*r.Float64() },
		errRate:   func(r *rand.Rand, b float64) float64 { return min(1, b*math.Exp(0.3*r.NormFloat64())) },
		slowShare: func(*rand.Rand) float64 { return 0.001 }},
	{name: "errors at 70% of the bound",
		base:      func(*rand.Rand) float64 { return 0.035 },
		errRate:   func(_ *rand.Rand, b float64) float64 { return b },
		slowShare: func(*rand.Rand) float64 { return 0.007 }},
	{name: "errors at 90% of the bound",
		base:      func(*rand.Rand) float64 { return 0.045 },
		errRate:   func(_ *rand.Rand, b float64) float64 { return b },
		slowShare: func(*rand.Rand) float64 { return 0.009 }},
	{name: "heavy-tailed jittery latency",
		base:      func(*rand.Rand) float64 { return 0.01 },
		errRate:   func(_ *rand.Rand, b float64) float64 { return b },
		slowShare: func(r *rand.Rand) float64 { return min(1, 0.004*math.Exp(0.5*r.NormFloat64())) }},
	{name: "errors bursting within seconds", burst: true,
		base:      func(*rand.Rand) float64 { return 0.01 },
		errRate:   func(_ *rand.Rand, b float64) float64 { return b },
		slowShare: func(*rand.Rand) float64 { return 0.001 }},
}

var rates = []float64{5, 50, 500, 5000}

type cell struct {
	shape shape
	rate  float64
}

func grid() []cell {
	var out []cell
	for _, s := range shapes {
		for _, r := range rates {
			out = append(out, cell{s, r})
		}
	}
	return out
}

func policy(alpha float64, require int) detect.Policy {
	f := func(v float64) *float64 { return &v }
	return detect.Policy{
		Require: require, Alpha: alpha, Sustain: 15 * time.Second, Confidence: 0.99, Consecutive: 2,
		Rules: []detect.Rule{
			{Metric: signal.ErrorRate, Max: f(0.05), Critical: f(0.25)},
			{Metric: signal.LatencyP99, Max: f(3000), Critical: f(10000)},
		},
	}
}

// faultRates are the error rates a fault switches to: twice the 5% bound
// (the slowest fault the policy is specified for; under require 2 only
// `sustain` reverts it) and 50% (past the 25% critical bound).
var faultRates = []float64{0.10, 0.50}

// result is one cell's outcome.
type result struct {
	cell
	deploys, falseRollbacks, suspectIncidents int
	faults                                    int
	delays                                    [][]time.Duration // per fault rate: onset → degraded, per detected fault
	missed                                    []int
}

func runAll(cells []cell, pol detect.Policy, per, fper int, watch, slot time.Duration, seed uint64) []result {
	out := make([]result, len(cells))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Go(func() {
			for i := range jobs {
				out[i] = runCell(cells[i], pol, per, fper, watch, slot, seed+uint64(i)*7919)
			}
		})
	}
	for i := range cells {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

const suspectGrace = 30 * time.Second

func runCell(c cell, pol detect.Policy, per, fper int, watch, slot time.Duration, seed uint64) result {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	res := result{cell: c, deploys: per, faults: fper, delays: make([][]time.Duration, len(faultRates)), missed: make([]int, len(faultRates))}
	for range per {
		degraded, suspect := healthyDeploy(r, c, pol, watch, slot)
		if degraded {
			res.falseRollbacks++
		}
		if suspect {
			res.suspectIncidents++
		}
	}
	for i, fr := range faultRates {
		for range fper {
			if d, ok := faultyDeploy(r, c, pol, watch, slot, fr); ok {
				res.delays[i] = append(res.delays[i], d)
			} else {
				res.missed[i]++
			}
		}
	}
	return res
}
