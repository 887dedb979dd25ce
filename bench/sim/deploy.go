package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/signal"
)

// counter accumulates the evidence a switch would report for one version.
type counter struct {
	reqs, errs       int64
	slow, verySlow   int64 // answers above the latency and the critical bound
	winReqs, winErrs []int64
}

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// step adds one slot of traffic and returns the guard's evidence.
func (c *counter) step(r *rand.Rand, g *detect.Guard, n int64, errRate, slowShare float64) map[string]detect.Evidence {
	e := binomial(r, n, errRate)
	s := binomial(r, n, slowShare)
	vs := binomial(r, s, 0.01) // a hundredth of the slow ones pass the critical bound
	c.reqs, c.errs, c.slow, c.verySlow = c.reqs+n, c.errs+e, c.slow+s, c.verySlow+vs
	lat := map[float64]detect.Count{}
	for _, b := range g.Bounds(signal.LatencyP99) {
		k := c.slow
		if b >= 10000 {
			k = c.verySlow
		}
		lat[b] = detect.Count{N: c.reqs, Bad: float64(k)}
	}
	rate := 0.0
	if n > 0 {
		rate = float64(e) / float64(n)
	}
	return map[string]detect.Evidence{
		signal.ErrorRate:  {Sample: signal.Sample{Value: rate, Samples: n, CountsSince: t0, Counts: map[float64]detect.Count{0: {N: c.reqs, Bad: float64(c.errs)}}}},
		signal.LatencyP99: {Sample: signal.Sample{Value: 100, Samples: n, CountsSince: t0, Counts: lat}},
	}
}

// requests draws the number of requests in a slot (Poisson around rate).
func requests(r *rand.Rand, rate float64, slot time.Duration) int64 {
	mean := rate * slot.Seconds()
	if mean > 50 {
		return max(0, int64(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	// Knuth's method for small means.
	l, k, p := math.Exp(-mean), int64(0), 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// burstState makes "errors bursting within seconds": about one burst every
// five minutes, 1 to 5 seconds long, at 15% errors.
type burstState struct{ until time.Duration }

func (b *burstState) rate(r *rand.Rand, at, slot time.Duration, base float64) float64 {
	if at < b.until {
		return 0.15
	}
	if r.Float64() < slot.Seconds()/300 {
		b.until = at + time.Duration(1+r.IntN(5))*time.Second
		return 0.15
	}
	return base
}

// healthyDeploy watches one healthy deploy; it reports whether it was ever
// Degraded and whether it was Suspect for longer than suspectGrace.
func healthyDeploy(r *rand.Rand, c cell, pol detect.Policy, watch, slot time.Duration) (degraded, suspectIncident bool) {
	g := detect.NewGuard(pol, t0)
	var ctr counter
	var bs burstState
	base := c.shape.base(r)
	var suspectSince time.Duration = -1
	for at := slot; at <= watch; at += slot {
		er := c.shape.errRate(r, base)
		if c.shape.burst {
			er = bs.rate(r, at, slot, base)
		}
		ev := ctr.step(r, g, requests(r, c.rate, slot), er, c.shape.slowShare(r))
		res := g.Observe(t0.Add(at), ev)
		switch res.Verdict {
		case detect.Degraded:
			return true, suspectIncident
		case detect.Suspect:
			if suspectSince < 0 {
				suspectSince = at
			}
			if at-suspectSince >= suspectGrace {
				suspectIncident = true
			}
		default:
			suspectSince = -1
		}
	}
	return false, suspectIncident
}

// faultyDeploy is a healthy deploy until a random moment in the watch,
// then its error rate becomes fault. It returns the delay to Degraded.
func faultyDeploy(r *rand.Rand, c cell, pol detect.Policy, watch, slot time.Duration, fault float64) (time.Duration, bool) {
	g := detect.NewGuard(pol, t0)
	var ctr counter
	base := c.shape.base(r)
	onset := time.Duration(r.Int64N(int64(max(watch-5*time.Minute, time.Minute))))
	at := time.Duration(0)
	for ; at+slot <= onset; at += slot {
		res := g.Observe(t0.Add(at+slot), ctr.step(r, g, requests(r, c.rate, slot), c.shape.errRate(r, base), c.shape.slowShare(r)))
		if res.Verdict == detect.Degraded {
			return 0, false // a false rollback before the fault; counted with the healthy ones
		}
	}
	// After the onset, fine slots: the switch reports as requests complete.
	fine := 10 * time.Millisecond
	for t := onset; t < onset+5*time.Minute; t += fine {
		res := g.Observe(t0.Add(t+fine), ctr.step(r, g, requests(r, c.rate, fine), fault, c.shape.slowShare(r)))
		if res.Verdict == detect.Degraded {
			return t + fine - onset, true
		}
	}
	return 0, false
}

func print(w io.Writer, results []result, alpha float64) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "shape\treq/s\tdeploys\tfalse rollbacks\trate\tvs alpha\tsuspect incidents\t"
	for _, fr := range faultRates {
		head += fmt.Sprintf("%.0f%% fault: median\tp95\tmissed\t", 100*fr)
	}
	fmt.Fprintln(tw, head)
	var total, falses int
	for _, r := range results {
		total += r.deploys
		falses += r.falseRollbacks
		rate := float64(r.falseRollbacks) / float64(r.deploys)
		line := fmt.Sprintf("%s\t%.0f\t%d\t%d\t%.3f%%\t%.2f×\t%d\t", r.shape.name, r.rate, r.deploys, r.falseRollbacks,
			100*rate, rate/alpha, r.suspectIncidents)
		for i := range faultRates {
			med, p95 := "-", "-"
			if d := r.delays[i]; len(d) > 0 {
				slices.Sort(d)
				med = d[len(d)/2].Round(10 * time.Millisecond).String()
				p95 = d[len(d)*95/100].Round(10 * time.Millisecond).String()
			}
			line += fmt.Sprintf("%s\t%s\t%d\t", med, p95, r.missed[i])
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nall shapes: %d false rollbacks in %d healthy deploys = %.3f%% (alpha %.1f%%)\n", falses, total, 100*float64(falses)/float64(total), 100*alpha)
}

// binomial draws Binomial(n, p): exact inversion by geometric gaps for
// small n·p, a normal approximation beyond.
func binomial(r *rand.Rand, n int64, p float64) int64 {
	switch {
	case p <= 0 || n <= 0:
		return 0
	case p >= 1:
		return n
	case float64(n)*p > 200 && float64(n)*(1-p) > 200:
		m, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		return min(n, max(0, int64(math.Round(m+sd*r.NormFloat64()))))
	}
	lq := math.Log1p(-p)
	var k, i int64
	for {
		i += int64(math.Floor(math.Log(1-r.Float64())/lq)) + 1
		if i > n {
			return k
		}
		k++
	}
}
