package proxystats

import (
	"context"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/proxy"
	"github.com/ripcord/ripcord/internal/signal"
)

type fixed proxy.Snapshot

func (f fixed) Stats(string, time.Time, time.Time) proxy.Snapshot { return proxy.Snapshot(f) }

// The switch's cumulative counts reach the guard as Sample.Counts: key 0
// for rates, each asked-for bound for quantiles, and none at all for a
// quantile whose bounds the switch does not count (the guard then uses the
// fixed-window rule instead of reading zeros as evidence).
func TestCountsFromTheSwitch(t *testing.T) {
	since := time.Unix(1_700_000_000, 0)
	snap := proxy.Snapshot{Cumulative: proxy.Cumulative{Since: since, Requests: 40, Errors: 9, Status5xx: 7,
		Bounds: []proxy.BoundCount{{Bound: 3000, N: 38, Above: 5}, {TTFB: true, Bound: 250, N: 30, Above: 2}}}}
	src := New(fixed(snap))
	got, err := src.ReadAll(context.Background(), signal.Query{Version: "v"}, map[string][]float64{
		signal.ErrorRate: nil, signal.HTTP5xxRate: nil, signal.LatencyP99: {3000}, signal.TTFBP99: {250},
		signal.LatencyP50: {400}, signal.Throughput: nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	for m, want := range map[string]map[float64]signal.Count{
		signal.ErrorRate:   {0: {N: 40, Bad: 9}},
		signal.HTTP5xxRate: {0: {N: 40, Bad: 7}},
		signal.LatencyP99:  {3000: {N: 38, Bad: 5}},
		signal.TTFBP99:     {250: {N: 30, Bad: 2}},
	} {
		s := got[m]
		if len(s.Counts) != len(want) || !s.CountsSince.Equal(since) {
			t.Errorf("%s: counts %v since %v, want %v since %v", m, s.Counts, s.CountsSince, want, since)
		}
		for k, c := range want {
			if s.Counts[k] != c {
				t.Errorf("%s: Counts[%v] = %+v, want %+v", m, k, s.Counts[k], c)
			}
		}
	}
	if c := got[signal.LatencyP50].Counts; c != nil {
		t.Errorf("latency_p50_ms with an untracked bound got counts %v", c)
	}
	if c := got[signal.Throughput].Counts; c != nil {
		t.Errorf("throughput got counts %v", c)
	}
}

// A shadow's comparisons reach the guard as a rate: copies compared, those
// that disagreed.
func TestShadowMismatchRate(t *testing.T) {
	since := time.Unix(1_700_000_000, 0)
	src := New(fixed(proxy.Snapshot{Cumulative: proxy.Cumulative{Since: since, Requests: 50, Compared: 40, Mismatched: 6}}))
	got, err := src.ReadAll(context.Background(), signal.Query{Version: "v"}, map[string][]float64{signal.ShadowMismatchRate: nil})
	if err != nil {
		t.Fatal(err)
	}
	s := got[signal.ShadowMismatchRate]
	if s.Value != 0.15 || s.Samples != 40 || s.Counts[0] != (signal.Count{N: 40, Bad: 6}) || !s.CountsSince.Equal(since) {
		t.Fatalf("sample %+v", s)
	}
}
