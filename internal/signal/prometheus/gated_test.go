package prometheus

import (
	"errors"
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
