package proxy

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// reportSwitch is a switch whose version "v" completed rps requests per
// second over the last minute, latencies log-normal around 20 ms, 2 %
// failed, with a latency bound tracked.
func reportSwitch(b *testing.B, rps int, now time.Time) *Switch {
	b.Helper()
	sw := New(Options{Service: "bench"})
	sw.now = func() time.Time { return now.Add(-time.Minute) }
	if err := sw.SetVersion("v", "http://127.0.0.1:1"); err != nil {
		b.Fatal(err)
	}
	sw.Activate("v")
	sw.Track("v", map[string][]float64{"latency_p99_ms": {500}})
	s := (*sw.versions.Load())["v"].stats
	rng := rand.New(rand.NewPCG(1, 2))
	n := rps * 60
	for i := 0; i < n; i++ {
		end := now.Add(-time.Minute + time.Duration(i)*time.Minute/time.Duration(n))
		lat := time.Duration(20e6 * math.Exp(0.5*rng.NormFloat64()))
		o := outcomeOK
		if rng.IntN(50) == 0 {
			o = outcome5xx
		}
		s.record(end.UnixNano(), lat, o)
		f := flight{}
		s.cur.Load().complete(&f, lat, o)
	}
	return sw
}

// BenchmarkReport is what a follower pays per version per report (the
// Sender's steady state: the 3 slots from the last acknowledged one) and
// for the full resend after a leader change (the minute's 600 slots), and
// how many JSON bytes that is on the wire.
func BenchmarkReport(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, rps := range []int{0, 10, 100, 1000, 10000} {
		sw := reportSwitch(b, rps, now)
		hi := now.UnixNano() / int64(slotDur)
		for _, c := range []struct {
			name string
			from map[string]int64
		}{{"steady", map[string]int64{"v": hi - 2}}, {"full", nil}} {
			b.Run(fmt.Sprintf("rps=%d/%s", rps, c.name), func(b *testing.B) {
				var size int
				for b.Loop() {
					reps := sw.Report(now, c.from)
					js, _ := json.Marshal(reps)
					size = len(js)
				}
				b.ReportMetric(float64(size), "bytes/report")
			})
		}
	}
}

// BenchmarkRemote is the leader's side: taking one steady report
// (decoded) and reading a 30 s window merged with 2 replicas' reports.
func BenchmarkRemote(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, rps := range []int{100, 1000, 10000} {
		sw := reportSwitch(b, rps, now)
		hi := now.UnixNano() / int64(slotDur)
		steady := sw.Report(now, map[string]int64{"v": hi - 2})
		js, _ := json.Marshal(steady)
		b.Run(fmt.Sprintf("rps=%d/decode+apply", rps), func(b *testing.B) {
			rem := NewRemote(time.Minute)
			for b.Loop() {
				var reps []VersionReport
				json.Unmarshal(js, &reps)
				rem.Apply("f", reps)
			}
		})
		b.Run(fmt.Sprintf("rps=%d/merge-2-replicas", rps), func(b *testing.B) {
			rem := NewRemote(time.Minute)
			full := sw.Report(now, nil)
			rem.Apply("f1", full)
			rem.Apply("f2", full)
			since := now.Add(-30 * time.Second)
			for b.Loop() {
				snap := sw.Stats("v", since, now)
				rem.Merge(&snap, "v", since, now, func(string) bool { return true })
			}
		})
		b.Run(fmt.Sprintf("rps=%d/local-only", rps), func(b *testing.B) {
			since := now.Add(-30 * time.Second)
			for b.Loop() {
				sw.Stats("v", since, now)
			}
		})
	}
}

// BenchmarkRemoteMemory is what the leader keeps per replica and version:
// a minute of reported slots (the retention), measured as live heap.
func BenchmarkRemoteMemory(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, rps := range []int{10, 100, 1000, 10000} {
		sw := reportSwitch(b, rps, now)
		js, _ := json.Marshal(sw.Report(now, nil))
		b.Run(fmt.Sprintf("rps=%d", rps), func(b *testing.B) {
			const replicas = 20
			var per float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				rem := NewRemote(time.Minute)
				for i := range replicas {
					var reps []VersionReport
					json.Unmarshal(js, &reps)
					rem.Apply(fmt.Sprint("r", i), reps)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				per = float64(after.HeapAlloc-before.HeapAlloc) / replicas
				runtime.KeepAlive(rem)
			}
			b.ReportMetric(per, "bytes/replica-version")
		})
	}
}
