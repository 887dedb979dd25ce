package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Policy says how often and how long to retry.
type Policy struct {
	Base     time.Duration // first wait; default 100ms
	Max      time.Duration // cap on one wait; default 5s
	Attempts int           // attempts in all, the first included; default 8
}

// Error is what an attempt returns to ask for another one.
type Error struct {
	Err error
	// After is the server's Retry-After, zero when it gave none.
	After time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Again marks err as worth retrying, not before after.
func Again(err error, after time.Duration) error { return &Error{Err: err, After: after} }

// Do calls fn until it returns nil or an error not made by Again, the
// attempts run out, or the next wait would pass ctx's deadline. The
// error returned is fn's last, unwrapped from Again, with how many
// attempts were made when there were several.
func (p Policy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	p = p.withDefaults()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		var again *Error
		if err == nil || !errors.As(err, &again) {
			return err
		}
		last := again.Err
		if attempt >= p.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", last, attempt)
		}
		wait := max(p.backoff(attempt), again.After)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (gave up after %d attempts: the next would start after the deadline)", last, attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d attempts: %w)", last, attempt, ctx.Err())
		case <-t.C:
		}
	}
}

func (p Policy) withDefaults() Policy {
	if p.Base <= 0 {
		p.Base = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Second
	}
	if p.Attempts <= 0 {
		p.Attempts = 8
	}
	return p
}

// backoff is Base·2^(attempt-1), capped at Max, with "equal jitter": half
// fixed, half random, so retries spread out but never bunch near zero.
func (p Policy) backoff(attempt int) time.Duration {
	d := p.Base << min(attempt-1, 30)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	return d/2 + rand.N(d/2+1)
}

// Status reports whether an HTTP status is worth retrying: 408, 429, 5xx.
func Status(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// After parses a Retry-After header: seconds, or an HTTP date.
func After(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
