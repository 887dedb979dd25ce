package proxy

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Latency histogram layout (HDR-style, fixed log buckets).
//
// A latency is recorded in units of 8 ns. Values below 64 units (512 ns) get
// one bucket each. Above that a value's bucket is its power of two (the
// "shift") and the 6 bits right below its leading bit, so every bucket is at
// most 1/64 of its lower bound wide and its midpoint is within 1/128 (0.78%)
// of any value in it. 2048 buckets reach 2^37 units ≈ 18 minutes; anything
// longer lands in the last bucket.
const (
	histUnitShift = 3 // 8 ns units
	histSubBits   = 6
	histSub       = 1 << histSubBits
	histBuckets   = 2048
)

// histogram is one slot's latency distribution. Counters are uint32: a slot
// covers 100 ms, far too short to overflow.
type histogram struct {
	counts [histBuckets]atomic.Uint32
}

// bucketOf maps a latency to its bucket index.
func bucketOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	v := uint64(d) >> histUnitShift
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	idx := (shift+1)<<histSubBits + int(v>>uint(shift)) - histSub
	if idx >= histBuckets {
		return histBuckets - 1
	}
	return idx
}

// bucketMid is the representative (midpoint) latency of bucket idx.
func bucketMid(idx int) time.Duration {
	if idx < histSub {
		return time.Duration(uint64(idx)<<histUnitShift + (1<<histUnitShift)/2)
	}
	shift := uint(idx>>histSubBits) - 1
	top := uint64(idx&(histSub-1) + histSub)
	low := top << shift
	width := uint64(1) << shift
	// Twice the midpoint, then shift, keeps the half unit for shift 0.
	return time.Duration((2*low + width) << histUnitShift / 2)
}

// add records one latency.
func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
}

// reset zeroes the histogram. Stores are atomic because a reader may still be
// summing a slot that is being recycled (it discards that read afterwards).
func (h *histogram) reset() {
	for i := range h.counts {
		if h.counts[i].Load() != 0 {
			h.counts[i].Store(0)
		}
	}
}

// sumInto adds the histogram's counts to dst and returns their total.
func (h *histogram) sumInto(dst []uint64) uint64 {
	var total uint64
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			dst[i] += uint64(c)
			total += uint64(c)
		}
	}
	return total
}

// quantileOf returns the latency at quantile q of counts whose sum is total.
// The answer is the midpoint of the bucket holding the ceil(q*total)-th
// smallest sample, so its relative error is below 1%.
func quantileOf(counts []uint64, total uint64, q float64) time.Duration {
	if total == 0 {
		return 0
	}
	switch {
	case q < 0 || q != q: // negative or NaN
		q = 0
	case q > 1:
		q = 1
	}
	rank := uint64(q * float64(total))
	if float64(rank) < q*float64(total) || rank == 0 {
		rank++
	}
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return bucketMid(i)
		}
	}
	return bucketMid(len(counts) - 1)
}
