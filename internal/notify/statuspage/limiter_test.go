package statuspage

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
)

func TestSpacerSlotsWithFakeClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSpacer(RequestInterval)
	s.now = func() time.Time { return now }
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second} {
		if _, got := s.reserve(); got != want {
			t.Errorf("reserve %d waits %s, want %s", i, got, want)
		}
	}
	now = now.Add(10 * time.Second) // idle time does not bank a burst
	for i, want := range []time.Duration{0, time.Second} {
		if _, got := s.reserve(); got != want {
			t.Errorf("after idle, reserve %d waits %s, want %s", i, got, want)
		}
	}
}

func TestSpacerRespectsContext(t *testing.T) {
	s := newSpacer(time.Hour)
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The next slot is an hour away: coming back at all, with Canceled,
	// is the cancel ending the wait.
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	if err := s.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Wait(ctx); err == nil {
		t.Fatal("a wait past the deadline should fail at once")
	}
}

func TestLimiterIsSharedPerKey(t *testing.T) {
	a, b, c := limiterFor("key-a"), limiterFor("key-a"), limiterFor("key-b")
	if a != b || a == c {
		t.Fatalf("limiterFor: same key shared=%v, different keys distinct=%v", a == b, a != c)
	}
	if a.every != time.Second {
		t.Errorf("interval = %s, want 1s", a.every)
	}
	n1, _ := New(Config{APIKey: "key-a", PageID: "p1"}, nil)
	n2, _ := New(Config{APIKey: "key-a", PageID: "p2"}, nil)
	if n1.limiter != n2.limiter {
		t.Error("two pages under one key do not share the limiter")
	}
}

// Requests through a Notifier reach the server spaced by the limiter.
// countingLimiter records, at each Wait, how many requests the fake had
// received, proving a Wait precedes every request without timing anything.
type countingLimiter struct {
	f     *fakeStatuspage
	seen  []int
	mutex sync.Mutex
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	_, reqs := l.f.snapshot()
	l.mutex.Lock()
	defer l.mutex.Unlock()
	l.seen = append(l.seen, len(reqs))
	return ctx.Err()
}

func TestNotifierWaitsBeforeEveryRequest(t *testing.T) {
	f := newFake(t)
	lim := &countingLimiter{f: f}
	n, err := New(Config{BaseURL: f.srv.URL + "/v1", APIKey: testKey, PageID: testPage}, nil, WithLimiter(lim))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), msg(notify.Opened, incident.Investigating, 1, "")); err != nil {
		t.Fatal(err)
	}
	_, reqs := f.snapshot()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 3", len(reqs))
	}
	if want := []int{0, 1, 2}; !slices.Equal(lim.seen, want) {
		t.Errorf("requests seen at each Wait = %v, want %v (one Wait before each request)", lim.seen, want)
	}
	if reqs[2].Method != http.MethodPost {
		t.Errorf("last request %s", reqs[2].Method)
	}
}
