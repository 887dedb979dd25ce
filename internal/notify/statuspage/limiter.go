package statuspage

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// RequestInterval is Statuspage's documented budget: one request per
// second per API key.
const RequestInterval = time.Second

var timeNow = time.Now

// spacer lets one request start per interval, first come first served.
type spacer struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	next time.Time // earliest start of the next request
}

func newSpacer(every time.Duration) *spacer {
	return &spacer{every: every, now: timeNow}
}

// reserve books the next slot and returns it with the wait until it.
func (s *spacer) reserve() (slot time.Time, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	slot = now
	if s.next.After(now) {
		slot = s.next
	}
	s.next = slot.Add(s.every)
	return slot, slot.Sub(now)
}

// release gives back slot when it is still the last one booked, so a wait
// that was abandoned does not delay the requests after it.
func (s *spacer) release(slot time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next.Equal(slot.Add(s.every)) {
		s.next = slot
	}
}

// Wait blocks until the caller may send, or ctx ends. A wait that would
// outlast ctx's deadline fails at once.
func (s *spacer) Wait(ctx context.Context) error {
	slot, wait := s.reserve()
	if wait <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(s.now().Add(wait)) {
		s.release(slot)
		return fmt.Errorf("next request slot is %s away, past the context deadline", wait.Round(time.Millisecond))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		s.release(slot)
		return ctx.Err()
	}
}

// limiters holds one spacer per API key (by its hash) for the process, so
// Notifiers for several pages under one key share the key's budget.
var (
	limitersMu sync.Mutex
	limiters   = map[[sha256.Size]byte]*spacer{}
)

func limiterFor(apiKey string) *spacer {
	k := sha256.Sum256([]byte(apiKey))
	limitersMu.Lock()
	defer limitersMu.Unlock()
	l, ok := limiters[k]
	if !ok {
		l = newSpacer(RequestInterval)
		limiters[k] = l
	}
	return l
}
