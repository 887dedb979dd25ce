package proxy

import (
	"sync"
	"sync/atomic"
)

// flights is the set of a generation's requests waiting for their response
// head: one atomic word per request, lock-free to join and leave, no
// allocation per request. A word holds the request's start (µs since the
// generation began, plus one, so never 0) above flightBits bits that say
// which bounds it was already counted above; 0 is a free slot.
//
// Slots come in chunks, added (under mu, rarely) when a few probes find
// no free one; a full set just leaves a request to be judged when it
// completes.
type flights struct {
	cursor atomic.Uint32
	chunks atomic.Pointer[[]*flightChunk]
	mu     sync.Mutex
}

const (
	flightBits      = maxBounds
	flightChunkLen  = 64
	maxFlightChunks = 256 // 16,384 requests waiting at once; 512 bytes a chunk, so an idle version costs little
	flightProbes    = 4
)

type flightChunk [flightChunkLen]atomic.Uint64

// flightStart is a word's start in ns since the generation began.
func flightStart(w uint64) int64 { return int64(w>>flightBits-1) * 1000 }

// register adds a request that started ns after the generation began and
// returns its slot, -1 if the set is full.
func (fs *flights) register(ns int64) int32 {
	word := (uint64(max(ns, 0)/1000) + 1) << flightBits
	for attempt := 0; attempt < 2; attempt++ {
		cs := fs.chunks.Load()
		if cs != nil {
			n := uint32(len(*cs) * flightChunkLen)
			for range flightProbes {
				i := fs.cursor.Add(1) % n
				w := &(*cs)[i/flightChunkLen][i%flightChunkLen]
				if w.Load() == 0 && w.CompareAndSwap(0, word) {
					return int32(i)
				}
			}
		}
		if !fs.grow(cs) {
			return -1
		}
	}
	return -1
}

// grow adds a chunk unless another writer did since seen was loaded. It
// reports false when the set is at its limit.
func (fs *flights) grow(seen *[]*flightChunk) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	cur := fs.chunks.Load()
	if cur != seen {
		return true
	}
	var next []*flightChunk
	if cur != nil {
		if len(*cur) >= maxFlightChunks {
			return false
		}
		next = append(next, *cur...)
	}
	next = append(next, new(flightChunk))
	fs.chunks.Store(&next)
	return true
}

// unregister frees slot i and returns the bounds its request was counted
// above. Only the owner clears a slot, so the word is still its own.
func (fs *flights) unregister(i int32) uint64 {
	w := &(*fs.chunks.Load())[i/flightChunkLen][i%flightChunkLen]
	for {
		cur := w.Load()
		if w.CompareAndSwap(cur, 0) {
			return cur & (1<<flightBits - 1)
		}
	}
}

// each calls fn for every occupied slot with its current word.
func (fs *flights) each(fn func(w *atomic.Uint64, cur uint64)) {
	cs := fs.chunks.Load()
	if cs == nil {
		return
	}
	for _, c := range *cs {
		for i := range c {
			if cur := c[i].Load(); cur != 0 {
				fn(&c[i], cur)
			}
		}
	}
}

// busy reports whether any request is in the set.
func (fs *flights) busy() bool {
	cs := fs.chunks.Load()
	if cs == nil {
		return false
	}
	for _, c := range *cs {
		for i := range c {
			if c[i].Load() != 0 {
				return true
			}
		}
	}
	return false
}
