package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/notify"
)

type handle struct {
	Key string `json:"key"`
	Seq int64  `json:"seq,omitempty"`
}

// brokenState fails every call.
type brokenState struct{}

func (brokenState) Get(context.Context, string, string) (string, error) {
	return "", errors.New("db down")
}

func (brokenState) Put(context.Context, string, string, string) error { return errors.New("db down") }

func TestHandlesRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := &notify.MemState{}
	hs := notify.Handles[handle]{State: st, Channel: "x:1", Name: "x"}
	if h, err := hs.Load(ctx, "INC-1"); err != nil || h != (handle{}) {
		t.Fatalf("empty: %+v %v", h, err)
	}
	if err := hs.Save(ctx, "INC-1", handle{Key: "K-1", Seq: 3}); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Get(ctx, "x:1", "INC-1"); v != `{"key":"K-1","seq":3}` {
		t.Errorf("stored %q", v)
	}
	if h, err := hs.Load(ctx, "INC-1"); err != nil || h != (handle{Key: "K-1", Seq: 3}) {
		t.Errorf("loaded %+v %v", h, err)
	}
}

func TestHandlesNotJSON(t *testing.T) {
	ctx := context.Background()
	st := &notify.MemState{}
	_ = st.Put(ctx, "x:1", "INC-1", "K-7")
	strict := notify.Handles[handle]{State: st, Channel: "x:1", Name: "x"}
	_, err := strict.Load(ctx, "INC-1")
	if ok, _ := notify.IsRetryable(err); err == nil || ok || !strings.HasPrefix(err.Error(), "x: ") {
		t.Errorf("strict: err = %v, want permanent", err)
	}
	bare := strict
	bare.Bare = func(v string) handle { return handle{Key: v} }
	if h, err := bare.Load(ctx, "INC-1"); err != nil || h != (handle{Key: "K-7"}) {
		t.Errorf("bare: %+v %v", h, err)
	}
}

func TestHandlesStateFailuresAreRetryable(t *testing.T) {
	ctx := context.Background()
	hs := notify.Handles[handle]{State: brokenState{}, Channel: "x:1", Name: "x"}
	_, err := hs.Load(ctx, "INC-1")
	if ok, _ := notify.IsRetryable(err); !ok || !strings.Contains(err.Error(), "x: reading state: db down") {
		t.Errorf("load: %v", err)
	}
	err = hs.Save(ctx, "INC-1", handle{Key: "K"})
	if ok, _ := notify.IsRetryable(err); !ok || !strings.Contains(err.Error(), "x: saving state: db down") {
		t.Errorf("save: %v", err)
	}
}

func TestStale(t *testing.T) {
	for _, c := range []struct {
		seq, applied int64
		stale        bool
	}{{0, 0, false}, {0, 5, false}, {1, 0, false}, {4, 5, true}, {5, 5, true}, {6, 5, false}} {
		if got := notify.Stale(c.seq, c.applied); got != c.stale {
			t.Errorf("Stale(%d, %d) = %v", c.seq, c.applied, got)
		}
	}
}
