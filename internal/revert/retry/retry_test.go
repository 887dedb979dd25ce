package retry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDo(t *testing.T) {
	fast := Policy{Base: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 4}
	permanent := errors.New("permanent")
	for _, tc := range []struct {
		name     string
		answers  []error
		want     error
		attempts int
	}{
		{"first try", []error{nil}, nil, 1},
		{"retried then ok", []error{Again(errors.New("503"), 0), Again(errors.New("429"), 0), nil}, nil, 3},
		{"permanent stops at once", []error{Again(errors.New("503"), 0), permanent}, permanent, 2},
		{"attempts run out", []error{Again(errors.New("a"), 0), Again(errors.New("b"), 0), Again(errors.New("c"), 0), Again(errors.New("last"), 0)}, nil, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := fast.Do(context.Background(), func(context.Context) error { n++; return tc.answers[n-1] })
			if n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			switch {
			case tc.name == "attempts run out":
				var again *Error
				if err == nil || errors.As(err, &again) || !strings.Contains(err.Error(), "last (gave up after 4 attempts)") {
					t.Errorf("err = %v", err)
				}
			case !errors.Is(err, tc.want) && err != tc.want:
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDoWillNotWaitPastTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	n := 0
	err := Policy{}.Do(ctx, func(context.Context) error { n++; return Again(errors.New("429"), 2*time.Hour) })
	if n != 1 || err == nil || !strings.Contains(err.Error(), "429 (gave up after 1 attempts: the next would start after the deadline)") {
		t.Errorf("%d attempts, err %v", n, err)
	}
}

func TestDoHonoursRetryAfter(t *testing.T) {
	var at []time.Time
	_ = Policy{Base: time.Millisecond, Attempts: 2}.Do(context.Background(), func(context.Context) error {
		at = append(at, time.Now())
		return Again(errors.New("429"), 50*time.Millisecond)
	})
	// A lower bound, not a timing assertion: the wait may be longer,
	// never shorter than the server asked.
	if len(at) != 2 || at[1].Sub(at[0]) < 50*time.Millisecond {
		t.Errorf("retried after %v, want ≥ Retry-After", at[1].Sub(at[0]))
	}
}

func TestBackoffGrowsWithJitterWithinCap(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}.withDefaults()
	for attempt, ceil := range map[int]time.Duration{1: 100 * time.Millisecond, 3: 400 * time.Millisecond, 9: time.Second, 80: time.Second} {
		for range 50 {
			if d := p.backoff(attempt); d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
}

func TestAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Sat, 01 Mar 2025 12:00:30 GMT": 30 * time.Second,
		"Sat, 01 Mar 2025 11:00:00 GMT": 0,
	} {
		h := http.Header{}
		h.Set("Retry-After", v)
		if got := After(h, now); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
	for code, want := range map[int]bool{408: true, 429: true, 500: true, 503: true, 400: false, 404: false, 409: false} {
		if Status(code) != want {
			t.Errorf("Status(%d) = %v", code, !want)
		}
	}
}
