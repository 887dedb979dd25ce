package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestTallyCountsEachBucketOnce(t *testing.T) {
	var tl Tally
	// first read: window [0, 60); the floor is the watch start, 20s
	if got := tl.Observe(at(20), at(0), []Point{{at(0), 5}, {at(20), 10}, {at(40), 3}}); got != 13 {
		t.Fatalf("first read %g, want 13 (the bucket before the watch does not count)", got)
	}
	// second read: the 40s bucket grew with late data, a new one arrived,
	// the 20s one is read again unchanged
	if got := tl.Observe(at(20), at(20), []Point{{at(20), 10}, {at(40), 7}, {at(60), 2}}); got != 19 {
		t.Fatalf("second read %g, want 10 + 7 + 2", got)
	}
	// a bucket that shrank (a partial rollup) adds nothing; one from before
	// this read's window start is not counted again
	if got := tl.Observe(at(20), at(40), []Point{{at(20), 50}, {at(40), 1}, {at(60), 2}}); got != 19 {
		t.Fatalf("third read %g, want still 19", got)
	}
}

func TestCacheFetchesOncePerInterval(t *testing.T) {
	c := NewCache[int](10*time.Second, 100)
	var calls atomic.Int32
	fetch := func(context.Context) (int, error) { return int(calls.Add(1)), nil }
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if v, err := c.Get(t.Context(), "k", at(0), fetch); err != nil || v != 1 {
				t.Errorf("got %d %v", v, err)
			}
		})
	}
	wg.Wait()
	if v, _ := c.Get(t.Context(), "k", at(9), fetch); v != 1 {
		t.Errorf("within the interval: fetched again (%d)", v)
	}
	if v, _ := c.Get(t.Context(), "k", at(10), fetch); v != 2 {
		t.Errorf("after the interval: %d, want a new fetch", v)
	}
	// a rate limit holds the next fetch back until it resets
	limited := func(context.Context) (int, error) {
		calls.Add(1)
		return 0, &RateLimited{Until: at(100), Msg: "x"}
	}
	_, err := c.Get(t.Context(), "k", at(20), limited)
	var rl *RateLimited
	if !errors.As(err, &rl) {
		t.Fatalf("err %v", err)
	}
	n := calls.Load()
	if _, err := c.Get(t.Context(), "k", at(60), fetch); !errors.As(err, &rl) || calls.Load() != n {
		t.Errorf("asked again before the rate limit reset")
	}
	if v, err := c.Get(t.Context(), "k", at(100), fetch); err != nil || v != int(n)+1 {
		t.Errorf("after the reset: %d %v", v, err)
	}
}

func TestCacheHonoursContext(t *testing.T) {
	c := NewCache[int](time.Second, 10)
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_, _ = c.Get(context.Background(), "k", at(0), func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "k", at(0), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiting read ignored its context: %v", err)
	}
	close(release)
	// a fetch cut short by its caller is not kept
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, _ = c.Get(ctx, "j", at(0), func(ctx context.Context) (int, error) { return 0, ctx.Err() })
	if v, err := c.Get(t.Context(), "j", at(0), func(context.Context) (int, error) { return 7, nil }); v != 7 || err != nil {
		t.Errorf("the cancelled fetch was kept: %d %v", v, err)
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	if s, err := ReadSecret(write("ok", "  key-123\n")); err != nil || s != "key-123" {
		t.Fatalf("%q %v", s, err)
	}
	for path, want := range map[string]string{
		write("empty", "\n"):                    "is empty",
		write("two", "a\nb"):                    "more than one line",
		write("big", strings.Repeat("x", 5000)): "larger than 4 KiB",
		filepath.Join(dir, "none"):              "does not exist",
		"rel.key":                               "not an absolute path",
	} {
		_, err := ReadSecret(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "xxxx") {
			t.Errorf("the error echoes the file's contents")
		}
	}
}

// Gives: a metric of its own, error_rate from the counts, never the
// reserved keys.
func TestGives(t *testing.T) {
	withCounts := map[string]int{"latency_p99_ms": 1, KeyRequests: 1, KeyErrors: 1}
	without := map[string]int{"latency_p99_ms": 1}
	for _, tc := range []struct {
		queries map[string]int
		metric  string
		want    bool
	}{
		{withCounts, "latency_p99_ms", true},
		{withCounts, "error_rate", true},
		{without, "error_rate", false},
		{withCounts, KeyRequests, false},
		{withCounts, KeyErrors, false},
		{without, "quality_score", false},
	} {
		if got := Gives(tc.queries, tc.metric); got != tc.want {
			t.Errorf("Gives(%v, %q) = %v, want %v", tc.queries, tc.metric, got, tc.want)
		}
	}
}
