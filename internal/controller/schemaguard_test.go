package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ripcord/ripcord/internal/schema"
)

// The schema guard in the pure step: what Tick read is data, and the step
// skips, reverts or escalates on it alone.
func TestStepSchemaGuard(t *testing.T) {
	now := epoch.Add(time.Minute)
	excl := func(vs ...string) schemaView {
		v := schemaView{excluded: map[string]string{}}
		for _, name := range vs {
			v.excluded[name] = name + " works with schema ≤ 41; the database is at 42"
		}
		return v
	}
	for _, tc := range []struct {
		name     string
		sv       schemaView
		wantTo   string // the decision's target, "" for none
		wantWhy  string // in the decision's reason or the escalation
		escalate bool
	}{
		{"nothing excluded", excl(), "v1", "", false},
		{"skips v1", excl("v1"), "v0", "schema guard skipped: v1 works with schema ≤ 41; the database is at 42", false},
		{"none fits", excl("v1", "v0"), "", "no older version works with the live schema: v1 works with schema ≤ 41; the database is at 42; v0 works", true},
		{"dirty", schemaView{err: "schema: migration is dirty: version 42"}, "", "cannot be read (schema: migration is dirty: version 42): ripcord does not revert on a guess", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := bad
			in.schema = tc.sv
			m, fx, err := step(mach(StateWatching, "v0", "v1", "v2"), in, now, testPolicy())
			if err != nil {
				t.Fatal(err)
			}
			var decided *recordDecision
			var text strings.Builder
			for _, e := range fx {
				switch e := e.(type) {
				case recordDecision:
					decided = &e
					text.WriteString(e.d.Reason)
				case transition:
					text.WriteString(e.reason + "\n")
				}
			}
			switch {
			case tc.escalate && (m.State != StateEscalated || decided != nil):
				t.Fatalf("state %s, decision %+v: want escalated with no decision", m.State, decided)
			case !tc.escalate && (decided == nil || decided.d.ToVersion != tc.wantTo):
				t.Fatalf("decision %+v, want a revert to %s", decided, tc.wantTo)
			}
			if !strings.Contains(text.String(), tc.wantWhy) {
				t.Errorf("reasons %q lack %q", text.String(), tc.wantWhy)
			}
		})
	}
}

func TestRangesFromConfigAndReader(t *testing.T) {
	r, err := schema.ParseRange("", "41")
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{deps: Deps{Schema: fixedSchema("42")}, ranges: map[string]schema.Range{"v1": r}}
	v := s.readSchema(t.Context(), s.ranges)
	if v.err != "" || v.excluded["v1"] != "v1 works with schema ≤ 41; the database is at 42" || len(v.excluded) != 1 {
		t.Fatalf("view %+v", v)
	}
	s.SetSchemaRange("v1", schema.Range{})
	if v := s.readSchema(t.Context(), s.ranges); len(v.excluded) != 0 {
		t.Fatalf("a cleared range still excludes: %+v", v)
	}
}

type fixedSchema string

func (f fixedSchema) Read(context.Context) (schema.Version, error) {
	return schema.ParseVersion(string(f))
}
