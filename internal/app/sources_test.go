package app

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/signal"
)

type fakeSource struct{ id, scope string }

func (f *fakeSource) Read(context.Context, signal.Query) (signal.Sample, error) {
	return signal.Sample{}, signal.ErrNoData
}
func (f *fakeSource) Expected(string, string) bool { return false }

type fakeScoped struct{ fakeSource }

func (f *fakeScoped) Scope() string { return f.scope }

// The index answers exactly what controller.Sources.For does, order
// included (order is precedence), for services with several scoped
// sources, none, and unscoped sources before, between and after them.
func TestSourceIndexMatchesFor(t *testing.T) {
	ss := controller.Sources{
		&fakeSource{id: "push"},
		&fakeScoped{fakeSource{id: "a-prom", scope: "a"}},
		&fakeScoped{fakeSource{id: "b-prom", scope: "b"}},
		&fakeScoped{fakeSource{id: "shared", scope: ""}},
		&fakeScoped{fakeSource{id: "a-probe", scope: "a"}},
		&fakeSource{id: "otlp"},
		&fakeScoped{fakeSource{id: "b-probe", scope: "b"}},
	}
	ix := indexSources(ss)
	ids := func(ss controller.Sources) []string {
		var out []string
		for _, s := range ss {
			switch s := s.(type) {
			case *fakeSource:
				out = append(out, s.id)
			case *fakeScoped:
				out = append(out, s.id)
			}
		}
		return out
	}
	for _, svc := range []string{"a", "b", "c", ""} {
		want, got := ids(ss.For(svc)), ids(ix.For(svc))
		if !slices.Equal(got, want) {
			t.Errorf("For(%q) = %v, want %v", svc, got, want)
		}
	}
	if got := fmt.Sprint(ids(ix.For("a"))); got != "[push a-prom shared a-probe otlp]" {
		t.Errorf("For(a) = %s", got)
	}
}
