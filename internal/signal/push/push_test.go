package push

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// TestPushBoundsMemory: unknown metric names are refused whole, and a series
// never holds more than MaxPoints, so pushing cannot grow the store without
// bound (20 pushes of 30,000 made-up names once took a daemon from 59 MB to
// 278 MB).
func TestPushBoundsMemory(t *testing.T) {
	s := New(time.Hour)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for round := range 20 {
		vals := make(map[string]float64, 30_000)
		for i := range 30_000 {
			vals[fmt.Sprintf("m%d_%d", round, i)] = 1
		}
		vals[signal.QualityScore] = 0.9
		err := s.Push("llm", "v2", vals, 10, t0)
		if err == nil || !strings.Contains(err.Error(), "quality_score") || !strings.Contains(err.Error(), "not a metric ripcord knows") {
			t.Fatalf("push of unknown names: err = %v, want a refusal naming the known metrics", err)
		}
	}
	if n := s.size(); n != 0 {
		t.Fatalf("%d points stored after refused pushes, want 0", n)
	}
	for i := range 3 * MaxPoints {
		must(t, s.Push("llm", "v2", map[string]float64{signal.QualityScore: 0.9, signal.ToxicOutputRate: 0.01}, 10, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	if n := s.size(); n != 2*MaxPoints {
		t.Fatalf("%d points stored, want the cap %d per series", n, 2*MaxPoints)
	}
	got, err := s.Read(context.Background(), signal.Query{Service: "llm", Version: "v2", Metric: signal.QualityScore, Since: t0, At: t0.Add(time.Hour)})
	if err != nil || got.Samples != 10*MaxPoints {
		t.Fatalf("read after capping = %+v, %v; want the newest %d points", got, err, MaxPoints)
	}
}

// size counts stored points.
func (s *Store) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, pts := range s.points {
		n += len(pts)
	}
	return n
}
