package controller

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/detect"
	"github.com/ripcord/ripcord/internal/signal"
	"github.com/ripcord/ripcord/internal/signal/push"
)

// liveStats is a BatchSource standing in for the proxy's window.
type liveStats struct {
	got  map[string]signal.Sample
	err  error
	asks []map[string][]float64
}

func (l *liveStats) ReadAll(_ context.Context, _ signal.Query, metrics map[string][]float64) (map[string]signal.Sample, error) {
	l.asks = append(l.asks, metrics)
	return l.got, l.err
}

// noBounds is the bounds function of a watch that tests no quantile.
func noBounds(string) []float64 { return nil }

// TestObserveRoutesEachMetric: a source configured for a metric wins over
// the proxy's view; a metric nothing reports for the service is left out
// (not blind); one that should report and does not is Missing.
func TestObserveRoutesEachMetric(t *testing.T) {
	pushed := push.New(time.Minute)
	if err := pushed.Push("svc", "v2", map[string]float64{signal.ErrorRate: 0.02, signal.QualityScore: 0.9}, 80, epoch); err != nil {
		t.Fatal(err)
	}
	if err := pushed.Push("svc", "v1", map[string]float64{signal.ToxicOutputRate: 0.01}, 80, epoch); err != nil {
		t.Fatal(err)
	}
	live := &liveStats{got: map[string]signal.Sample{signal.LatencyP99: {Value: 120, Samples: 500}}}
	sig := Signals{Live: live, LiveMetrics: []string{signal.ErrorRate, signal.LatencyP99, signal.LatencyP50}, Optional: Sources{pushed}}
	rules := []detect.Rule{{Metric: signal.ErrorRate}, {Metric: signal.LatencyP99}, {Metric: signal.LatencyP50},
		{Metric: signal.QualityScore}, {Metric: signal.ToxicOutputRate}, {Metric: signal.HallucinationRate}}
	obs := sig.observe(context.Background(), slog.New(slog.DiscardHandler), "svc", "v2", epoch.Add(-time.Second), epoch, rules, noBounds)
	for metric, want := range map[string]detect.Evidence{
		signal.ErrorRate:       {Sample: signal.Sample{Value: 0.02, Samples: 80, At: epoch}}, // pushed wins over live
		signal.LatencyP99:      {Sample: signal.Sample{Value: 120, Samples: 500}},
		signal.LatencyP50:      {Missing: true}, // live, but the proxy had nothing
		signal.QualityScore:    {Sample: signal.Sample{Value: 0.9, Samples: 80, At: epoch}},
		signal.ToxicOutputRate: {Missing: true}, // expected for svc, silent for v2
	} {
		if got, ok := obs[metric]; !ok || got.Missing != want.Missing || got.Sample.Value != want.Sample.Value || got.Sample.Samples != want.Sample.Samples {
			t.Errorf("%s = %+v (present %v), want %+v", metric, got, ok, want)
		}
	}
	if _, ok := obs[signal.HallucinationRate]; ok {
		t.Error("a metric nothing reports for the service was judged")
	}
	if len(live.asks) != 1 || len(live.asks[0]) != 2 {
		t.Errorf("live asked %v, want one read of the two metrics it serves", live.asks)
	}
	live.err = errors.New("window empty")
	obs = sig.observe(context.Background(), slog.New(slog.DiscardHandler), "svc", "v2", epoch.Add(-time.Second), epoch, rules, noBounds)
	if !obs[signal.LatencyP99].Missing {
		t.Error("a failed live read is not Missing")
	}
}

// TestSourcesPrecedence: the first source that expects a metric answers it.
func TestSourcesPrecedence(t *testing.T) {
	first, second := push.New(time.Minute), push.New(time.Minute)
	_ = first.Push("svc", "v1", map[string]float64{signal.QualityScore: 0.8}, 10, epoch)
	_ = second.Push("svc", "v1", map[string]float64{signal.QualityScore: 0.1, signal.CPUUsage: 2}, 10, epoch)
	ss := Sources{first, second}
	q := signal.Query{Service: "svc", Version: "v1", Since: epoch, At: epoch}
	for metric, want := range map[string]float64{signal.QualityScore: 0.8, signal.CPUUsage: 2} {
		q.Metric = metric
		if smp, err := ss.Read(context.Background(), q); err != nil || smp.Value != want {
			t.Errorf("%s = %v, %v; want %v", metric, smp.Value, err, want)
		}
	}
	q.Metric = signal.MemoryBytes
	if _, err := ss.Read(context.Background(), q); !errors.Is(err, signal.ErrNoData) || ss.Expected("svc", signal.MemoryBytes) {
		t.Errorf("metric nobody provides: %v", err)
	}
}

// scoped is a push store that answers for one service only.
type scoped struct {
	*push.Store
	service string
}

func (s scoped) Scope() string { return s.service }

// TestSourcesFor: a service's list keeps the sources of every service that
// are not scoped, and of the scoped ones only its own, in order.
func TestSourcesFor(t *testing.T) {
	shared := push.New(time.Minute)
	a, b := scoped{push.New(time.Minute), "a"}, scoped{push.New(time.Minute), "b"}
	ss := Sources{a, b, shared}
	got := ss.For("b")
	if len(got) != 2 || got[0] != OptionalSource(b) || got[1] != OptionalSource(shared) {
		t.Fatalf("For(b) = %v, want [b shared]", got)
	}
	if n := len(ss.For("c")); n != 1 {
		t.Errorf("For(c) has %d sources, want the shared one", n)
	}
}

// TestLiveVersionsAndProgress: probes are pointed at the active version and
// the one a revert would go to; progress shows only while reverting.
func TestLiveVersionsAndProgress(t *testing.T) {
	r := newRig(t, testPolicy(), "v0", "v1").boot()
	r.deploy("v2")
	if got := r.svc.LiveVersions(); len(got) != 2 || got["v2"] != "http://v2.test" || got["v1"] != "http://v1.test" {
		t.Fatalf("live versions %v", got)
	}
	r.svc.SetProgress("2 of 3 pods updated")
	if p := r.svc.Status().Progress; p != "" {
		t.Fatalf("progress %q shown while watching", p)
	}
	started, release := r.holdRevert()
	r.errRate["v2"] = 0.5
	done := make(chan Status)
	go func() { done <- r.tick() }()
	<-started
	if p := r.svc.Status().Progress; p != "2 of 3 pods updated" {
		t.Fatalf("progress during the revert %q", p)
	}
	release()
	<-done
}

// TestEveryFires: the ticker trigger fires once per interval.
func TestEveryFires(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := Every(time.Millisecond)(ctx)
	first, second := <-ch, <-ch
	if !second.After(first) {
		t.Fatalf("ticks at %v then %v", first, second)
	}
}
