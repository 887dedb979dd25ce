package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/signal/prometheus"
)

// A service with a Prometheus job is evaluated as each scrape lands: with
// an interval of an hour, only a landed scrape can fire the trigger.
func TestTriggerFiresOnScrape(t *testing.T) {
	var n atomic.Int64
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("query") != `timestamp(up{job="svc"})` {
			http.Error(w, "unexpected query", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"a"},"value":[1700000000,"%d"]}]}}`,
			1700000000+n.Add(1)) // a new scrape on every question
	}))
	defer prom.Close()
	src, err := prometheus.New(map[string]prometheus.Config{"svc": {URL: prom.URL, Job: "svc",
		Counts: map[string]prometheus.Counter{"error_rate": {Total: `t{version="{{.Version}}"}`, Bad: `b{version="{{.Version}}"}`}}}})
	if err != nil {
		t.Fatal(err)
	}
	a := &App{scrapes: map[string]*prometheus.Gated{"svc": prometheus.NewGated(src, 20*time.Millisecond)}}
	pol := config.DefaultPolicy()
	pol.Interval = time.Hour
	pol.Thresholds = map[string]config.Threshold{"error_rate": {Max: ptrTo(0.05)}}
	trig := a.trigger(config.Service{Name: "svc", Policy: pol}, nil, nil)
	if trig == nil {
		t.Fatal("no trigger for a service with a scrape job")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fired := trig(ctx)
	for i := range 2 {
		select {
		case <-fired:
		case <-time.After(10 * time.Second):
			t.Fatalf("scrape %d landed and the service was not evaluated", i+1)
		}
	}
	if (&App{}).trigger(config.Service{Name: "svc", Policy: pol}, nil, nil) != nil {
		t.Error("a service without Prometheus got a scrape trigger")
	}

	// On the switch as well: the scrapes still wake it (they used to be
	// replaced by the switch's evidence trigger), and so does a poke.
	evidence := make(chan struct{}, 1)
	both := a.trigger(config.Service{Name: "svc", Policy: pol}, evidence, nil)(ctx)
	for i := range 2 {
		select {
		case <-both:
		case <-time.After(10 * time.Second):
			t.Fatalf("on the switch, scrape %d landed and the service was not evaluated", i+1)
		}
	}
	own := make(chan struct{}, 1) // not the one the trigger above still reads
	quiet := (&App{}).trigger(config.Service{Name: "svc", Policy: pol}, own, nil)
	if quiet == nil {
		t.Fatal("a service on the switch got no evidence trigger")
	}
	pokes := quiet(ctx)
	own <- struct{}{}
	select {
	case <-pokes:
	case <-time.After(10 * time.Second):
		t.Fatal("a poke from the switch did not evaluate the service")
	}
}

func ptrTo(v float64) *float64 { return &v }
