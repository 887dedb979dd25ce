package proxy

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	prev := -1
	for d := time.Duration(1); d < 20*time.Minute; d = d*101/100 + 1 {
		b := bucketOf(d)
		if b < prev {
			t.Fatalf("bucketOf(%v)=%d < previous %d: not monotonic", d, b, prev)
		}
		prev = b
		if d < time.Microsecond || d > 17*time.Minute {
			continue
		}
		mid := bucketMid(b)
		if rel := math.Abs(float64(mid-d)) / float64(d); rel > 0.01 {
			t.Fatalf("bucketMid(bucketOf(%v)) = %v: relative error %.4f > 1%%", d, mid, rel)
		}
	}
	if got := bucketOf(time.Hour); got != histBuckets-1 {
		t.Fatalf("bucketOf(1h) = %d, want the last bucket", got)
	}
}

// exactQuantile is the ceil(q*n)-th smallest value, the definition the
// histogram approximates.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func TestQuantileAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"uniform 1ms-100ms": func() time.Duration { return time.Millisecond + time.Duration(rng.Int64N(int64(99*time.Millisecond))) },
		"lognormal ~20ms": func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*1.2+math.Log(20e6))) + time.Microsecond
		},
		"bimodal 2µs/5s": func() time.Duration {
			return []time.Duration{2 * time.Microsecond, 5 * time.Second}[rng.IntN(2)] + time.Duration(rng.IntN(1000))
		},
		"constant 7ms":   func() time.Duration { return 7 * time.Millisecond },
		"wide 1µs-10min": func() time.Duration { return time.Duration(math.Exp(rng.Float64()*math.Log(6e5))) * time.Microsecond },
	}
	t0 := time.Unix(1_700_000_000, 0)
	for name, gen := range dists {
		s := newSeries(t0, time.Minute)
		vals := make([]time.Duration, 20000)
		for i := range vals {
			vals[i] = gen()
			at := t0.Add(time.Duration(i%50) * slotDur) // spread over 50 slots
			s.record(at.UnixNano(), vals[i], outcomeOK)
		}
		slices.Sort(vals)
		snap := s.snapshot(t0, t0.Add(10*time.Second))
		if snap.Requests != int64(len(vals)) {
			t.Fatalf("%s: Requests = %d, want %d", name, snap.Requests, len(vals))
		}
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
			want, got := exactQuantile(vals, q), snap.Quantile(q)
			if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.01 {
				t.Errorf("%s: p%v = %v, exact %v: relative error %.4f > 1%%", name, q*100, got, want, rel)
			}
		}
	}
}

func TestStatsWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := newSeries(t0, 10*time.Second)
	rec := func(at time.Duration, o outcome, n int) {
		for range n {
			s.record(t0.Add(at).UnixNano(), time.Millisecond, o)
		}
	}
	rec(0, outcomeOK, 10)                    // slot 0
	rec(500*time.Millisecond, outcome5xx, 4) // slot 5
	rec(1050*time.Millisecond, outcomeOK, 6) // slot 10
	rec(1090*time.Millisecond, outcomeConnErr, 2)

	all := s.snapshot(t0, t0.Add(1100*time.Millisecond))
	if all.Requests != 22 || all.Errors != 6 || all.Status5xx != 4 {
		t.Fatalf("whole window = %+v", all)
	}
	if !all.From.Equal(t0) {
		t.Fatalf("From = %v, want %v", all.From, t0)
	}
	if got := all.ErrorRate(); math.Abs(got-6.0/22) > 1e-9 {
		t.Fatalf("ErrorRate = %v", got)
	}
	if got := all.Throughput(); math.Abs(got-22/1.1) > 1e-6 {
		t.Fatalf("Throughput = %v, want %v", got, 22/1.1)
	}

	// since after slot 5: older slots are excluded; the open slot counts.
	late := s.snapshot(t0.Add(time.Second), t0.Add(1060*time.Millisecond))
	if late.Requests != 8 || late.Errors != 2 || late.Status5xx != 0 {
		t.Fatalf("since=1s: %+v", late)
	}
	// now before slot 10: the future is excluded.
	early := s.snapshot(t0, t0.Add(600*time.Millisecond))
	if early.Requests != 14 || early.Status5xx != 4 {
		t.Fatalf("now=600ms: %+v", early)
	}
	// Past the retention the old slots are gone even with an old since.
	later := s.snapshot(t0, t0.Add(20*time.Second))
	if later.Requests != 0 || later.Quantile(0.5) != 0 || later.ErrorRate() != 0 {
		t.Fatalf("after retention: %+v", later)
	}
	if want := t0.Add(20*time.Second - 10*time.Second + slotDur); !later.From.Equal(want) {
		t.Fatalf("after retention From = %v, want %v", later.From, want)
	}
}

func TestStatsRecycleConcurrent(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := newSeries(t0, time.Second) // 10 slots + spares, recycled constantly
	var wg sync.WaitGroup
	const writers, per = 4, 20000
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				at := t0.Add(time.Duration(i) * time.Millisecond) // 20 s of traffic
				s.record(at.UnixNano(), time.Duration(w+1)*time.Millisecond, outcomeOK)
			}
		})
	}
	// The reader runs for exactly as long as the writers do.
	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			now := t0.Add(time.Duration(i%20000) * time.Millisecond)
			snap := s.snapshot(now.Add(-time.Second), now)
			if snap.Requests > int64(writers)*1100 {
				t.Errorf("window of 1s holds %d requests", snap.Requests)
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	reader.Wait()
	if got := s.totalReq.Load(); got != writers*per {
		t.Fatalf("totals = %d, want %d", got, writers*per)
	}
}

// BenchmarkRecord is the per-request cost of statistics, without the clock.
func BenchmarkRecord(b *testing.B) {
	s := newSeries(time.Now(), time.Minute)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		end := time.Now().UnixNano()
		i := 0
		for pb.Next() {
			i++
			s.record(end, time.Duration(i&1023)*time.Microsecond, outcomeOK)
		}
	})
}

// BenchmarkRecordClock adds the one clock read a request pays for it
// (its start time is read anyway to forward it).
func BenchmarkRecordClock(b *testing.B) {
	s := newSeries(time.Now(), time.Minute)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		start := time.Now()
		for pb.Next() {
			end := time.Now()
			s.record(end.UnixNano(), end.Sub(start), outcomeOK)
		}
	})
}

// BenchmarkStats is the cost of one 10 s window read with traffic in every slot.
func BenchmarkStats(b *testing.B) {
	now := time.Now()
	s := newSeries(now.Add(-time.Minute), time.Minute)
	for i := range 600 * 50 {
		at := now.Add(-time.Duration(i%600) * slotDur)
		s.record(at.UnixNano(), time.Duration(i)*time.Microsecond, outcomeOK)
	}
	b.ResetTimer()
	for b.Loop() {
		snap := s.snapshot(now.Add(-10*time.Second), now)
		_ = snap.Quantile(0.99)
	}
}
