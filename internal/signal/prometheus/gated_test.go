package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

// TestGatedQueriesOncePerScrape: many reads between two scrapes cost one
// metric query; a new scrape brings a fresh one; an outage is no data.
func TestGatedQueriesOncePerScrape(t *testing.T) {
	f := newFakeProm(t)
	scrape := `max(timestamp(up{job="checkout"}))`
	f.on(scrape, ok(scalarJSON("1700000000")))
	f.on(`sum(rate(errors{version="v2"}[1m]))`, ok(vectorJSON("0.25")))
	f.on(`sum(increase(requests{service="checkout",version="v2"}[1m]))`, ok(vectorJSON("400")))
	g := NewGated(newSource(t, f, func(c *Config) { c.Job = "checkout" }), 100*time.Millisecond)
	count := func(prefix string) int {
		n := 0
		for _, r := range f.requests() {
			if strings.HasPrefix(r.query, prefix) {
				n++
			}
		}
		return n
	}
	q := query("v2", signal.ErrorRate)
	for i := range 20 { // 20 ticks of 50 ms: a second of evaluation
		q.At = at.Add(time.Duration(i) * 50 * time.Millisecond)
		if got, err := g.Read(background(), q); err != nil || got.Value != 0.25 {
			t.Fatalf("read %d: %+v %v", i, got, err)
		}
	}
	if n := count("sum(rate(errors"); n != 1 {
		t.Fatalf("%d metric queries within one scrape, want 1", n)
	}
	if n := count("max(timestamp"); n != 10 {
		t.Fatalf("%d scrape checks over 1 s at a 100 ms poll, want 10", n)
	}
	f.on(scrape, ok(scalarJSON("1700000001")))
	q.At = q.At.Add(100 * time.Millisecond)
	if _, err := g.Read(background(), q); err != nil {
		t.Fatal(err)
	}
	if n := count("sum(rate(errors"); n != 2 {
		t.Fatalf("a new scrape did not bring a new query (%d)", n)
	}
	f.on(scrape, answer{status: 503, body: errorJSON("unavailable", "down")})
	f.on(`sum(rate(errors{version="v2"}[1m]))`, answer{status: 503, body: errorJSON("unavailable", "down")})
	q.At = q.At.Add(100 * time.Millisecond)
	if _, err := g.Read(background(), q); !errors.Is(err, signal.ErrNoData) {
		t.Fatalf("outage read: %v, want ErrNoData", err)
	}
}

// TestGatedWatch: Watch fires once per scrape that lands, reads through
// the gate then query once per scrape and never ask for scrape times
// themselves, and an outage lets reads through so they say no data.
func TestGatedWatch(t *testing.T) {
	f := newFakeProm(t)
	scrapes := `timestamp(up{job="checkout"})`
	stamp := func(secs ...float64) {
		var ss []series
		for i, s := range secs {
			ss = append(ss, ser(s, "instance", fmt.Sprint("pod-", i)))
		}
		f.on(scrapes, ok(seriesJSON(ss...)))
	}
	stamp(1700000000, 1700000000.5)
	f.on(`sum(rate(errors{version="v2"}[1m]))`, ok(vectorJSON("0.25")))
	f.on(`sum(increase(requests{service="checkout",version="v2"}[1m]))`, ok(vectorJSON("400")))
	g := NewGated(newSource(t, f, func(c *Config) { c.Job = "checkout" }), 20*time.Millisecond)
	ctx, cancel := context.WithCancel(background())
	defer cancel()
	fired := g.Watch(ctx, "checkout")
	count := func(prefix string) int {
		n := 0
		for _, r := range f.requests() {
			if strings.HasPrefix(r.query, prefix) {
				n++
			}
		}
		return n
	}
	deadline := time.After(10 * time.Second)
	wait := func(what string) {
		t.Helper()
		select {
		case <-fired:
		case <-deadline:
			t.Fatalf("Watch did not fire: %s", what)
		}
	}
	wait("first answer")
	q := query("v2", signal.ErrorRate)
	for range 5 {
		if _, err := g.Read(background(), q); err != nil {
			t.Fatal(err)
		}
	}
	if n := count("sum(rate(errors"); n != 1 {
		t.Fatalf("%d metric queries for one scrape, want 1", n)
	}
	stamp(1700000001, 1700000000.5) // pod-0 scraped again
	wait("a new scrape")
	if _, err := g.Read(background(), q); err != nil {
		t.Fatal(err)
	}
	if n := count("sum(rate(errors"); n != 2 {
		t.Fatalf("a new scrape did not bring a new query (%d)", n)
	}
	if n := count("max(timestamp"); n != 0 {
		t.Errorf("reads asked for the last scrape %d times; Watch follows the scrapes", n)
	}
	f.on(scrapes, answer{status: 503, body: errorJSON("unavailable", "down")})
	f.on(`sum(rate(errors{version="v2"}[1m]))`, answer{status: 503, body: errorJSON("unavailable", "down")})
	for {
		if _, err := g.Read(background(), q); errors.Is(err, signal.ErrNoData) {
			break
		}
		select {
		case <-deadline:
			t.Fatal("Prometheus down: reads kept answering from the cache")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestScrapeWatchSchedule: the watch sleeps until a target's next scrape
// is due, asks every fine while it is late, learns the period from
// consecutive scrapes and takes a missed one for a gap, not a new period.
func TestScrapeWatchSchedule(t *testing.T) {
	w := scrapeWatch{targets: map[string]*scrapeTarget{}, lag: math.MaxInt64}
	t0 := time.Unix(1700000000, 0)
	poll := 100 * time.Millisecond
	if d := w.next(t0, poll); d != poll {
		t.Errorf("nothing known: %v, want the poll %v", d, poll)
	}
	w.observe(map[string]time.Time{"a": t0}, t0.Add(30*time.Millisecond))
	w.observe(map[string]time.Time{"a": t0.Add(time.Second)}, t0.Add(time.Second+20*time.Millisecond))
	if w.lag != 20*time.Millisecond || w.targets["a"].period != time.Second {
		t.Fatalf("lag %v period %v, want 20ms and 1s", w.lag, w.targets["a"].period)
	}
	now := t0.Add(1900 * time.Millisecond)
	if d := w.next(now, poll); d != poll {
		t.Errorf("due in 120ms: %v, want the poll", d)
	}
	now = t0.Add(1950 * time.Millisecond)
	if d := w.next(now, poll); d != 70*time.Millisecond {
		t.Errorf("due at +2.02s, now +1.95s: %v, want 70ms", d)
	}
	if d := w.next(t0.Add(2100*time.Millisecond), poll); d != fine {
		t.Errorf("late: %v, want %v", d, fine)
	}
	if d := w.next(t0.Add(2600*time.Millisecond), poll); d != poll {
		t.Errorf("more than half a period late: %v, want the poll", d)
	}
	_, adv := w.observe(map[string]time.Time{"a": t0.Add(3 * time.Second)}, t0.Add(3*time.Second+50*time.Millisecond))
	if !adv || w.targets["a"].period != time.Second || w.lag != 20*time.Millisecond {
		t.Errorf("a missed scrape: period %v lag %v, want 1s and 20ms", w.targets["a"].period, w.lag)
	}
	if _, adv := w.observe(map[string]time.Time{"a": t0.Add(3 * time.Second)}, t0.Add(3100*time.Millisecond)); adv {
		t.Error("the same scrape again advanced")
	}
}
