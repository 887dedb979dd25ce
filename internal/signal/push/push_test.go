package push

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/signal"
)

func TestPushRead(t *testing.T) {
	s := New(time.Minute)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := signal.Query{Service: "llm", Version: "v2", Metric: signal.QualityScore, Since: t0, At: t0.Add(10 * time.Second)}
	if _, err := s.Read(context.Background(), q); !errors.Is(err, signal.ErrNoData) {
		t.Fatalf("empty store: err=%v, want ErrNoData", err)
	}
	if s.Expected("llm", signal.QualityScore) {
		t.Fatal("expected before any push")
	}
	must(t, s.Push("llm", "v2", map[string]float64{signal.QualityScore: 0.9}, 100, t0.Add(time.Second)))
	must(t, s.Push("llm", "v2", map[string]float64{signal.QualityScore: 0.6}, 300, t0.Add(2*time.Second)))
	must(t, s.Push("llm", "v2", map[string]float64{signal.QualityScore: 0.1}, 300, t0.Add(-time.Second))) // before Since
	got, err := s.Read(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got.Samples != 400 || got.Value < 0.674 || got.Value > 0.676 {
		t.Fatalf("got %+v, want weighted mean 0.675 over 400", got)
	}
	if !s.Expected("llm", signal.QualityScore) {
		t.Fatal("not expected after push")
	}
	if err := s.Push("llm", "v2", map[string]float64{"x": 1}, 0, t0); err == nil {
		t.Fatal("samples=0 accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
