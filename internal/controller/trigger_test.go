package controller

import (
	"context"
	"testing"
	"time"
)

func TestMergeFiresForEither(t *testing.T) {
	a, b := make(chan time.Time), make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := Merge(func(context.Context) <-chan time.Time { return a }, func(context.Context) <-chan time.Time { return b },
		func(context.Context) <-chan time.Time { return nil })(ctx)
	for i, ch := range []chan time.Time{a, b, a} {
		ch <- time.Unix(int64(i), 0)
		if got := <-out; !got.Equal(time.Unix(int64(i), 0)) {
			t.Fatalf("fire %d: got %v", i, got)
		}
	}
}
