package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RateLimited is returned by a fetch the backend refused for its rate
// limit; the cache asks again no sooner than Until.
type RateLimited struct {
	Until time.Time
	Msg   string
}

func (e *RateLimited) Error() string {
	return fmt.Sprintf("rate limited until %s: %s", e.Until.Format(time.RFC3339), e.Msg)
}

// Cache fetches one value per key at most once per interval and shares it
// between the reads of that interval: the controller evaluates every few
// tens of milliseconds, and a paid API must not be asked that often.
// Concurrent reads of a key wait for the one fetch in flight, each within
// its own context. Failures are kept like answers (an outage is not
// hammered), except a fetch cut short by its caller's context, which the
// next read repeats. Time is the caller's (Query.At), never the clock.
type Cache[T any] struct {
	interval time.Duration
	mu       sync.Mutex
	entries  map[string]*entry[T]
	// limit bounds the entries; past it, the oldest is forgotten.
	limit int
}

type entry[T any] struct {
	at       time.Time // when the kept answer was fetched (caller's time)
	next     time.Time // no fetch before this
	val      T
	err      error
	done     bool
	inflight chan struct{}
}

// NewCache returns a cache fetching each key at most every interval and
// keeping at most limit keys.
func NewCache[T any](interval time.Duration, limit int) *Cache[T] {
	return &Cache[T]{interval: interval, entries: map[string]*entry[T]{}, limit: limit}
}

// Get returns key's answer: the kept one while it is younger than the
// interval (or a rate limit holds), else fetch's, run once for everyone
// waiting. now is the caller's time.
func (c *Cache[T]) Get(ctx context.Context, key string, now time.Time, fetch func(context.Context) (T, error)) (T, error) {
	for {
		c.mu.Lock()
		e := c.entries[key]
		if e == nil {
			c.evict()
			e = &entry[T]{}
			c.entries[key] = e
		}
		if e.inflight != nil {
			wait := e.inflight
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				var zero T
				return zero, ctx.Err()
			}
		}
		if e.done && now.Before(e.next) {
			val, err := e.val, e.err
			c.mu.Unlock()
			return val, err
		}
		e.inflight = make(chan struct{})
		c.mu.Unlock()
		return c.run(ctx, e, now, fetch)
	}
}

func (c *Cache[T]) run(ctx context.Context, e *entry[T], now time.Time, fetch func(context.Context) (T, error)) (T, error) {
	val, err := fetch(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	close(e.inflight)
	e.inflight = nil
	if err != nil && ctx.Err() != nil {
		return val, err // cut short by the caller: not an answer to keep
	}
	e.at, e.val, e.err, e.done = now, val, err, true
	e.next = now.Add(c.interval)
	var rl *RateLimited
	if errors.As(err, &rl) && rl.Until.After(e.next) {
		e.next = rl.Until
	}
	return val, err
}

// evict forgets the entry fetched longest ago when the cache is full. The
// caller holds c.mu.
func (c *Cache[T]) evict() {
	if c.limit <= 0 || len(c.entries) < c.limit {
		return
	}
	var oldest string
	var at time.Time
	for k, e := range c.entries {
		if e.inflight == nil && (oldest == "" || e.at.Before(at)) {
			oldest, at = k, e.at
		}
	}
	if oldest != "" {
		delete(c.entries, oldest)
	}
}
