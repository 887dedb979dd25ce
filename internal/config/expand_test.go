package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/parser"
)

// mergeBomb is depth levels of "&aN {<<: [*aN-1, *aN-1]}" merged into the
// first service on line depth+3: each level doubles what decoding visits.
func mergeBomb(depth int) string {
	var b strings.Builder
	b.WriteString("x0: &a0 {k: 1}\n")
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [*a%d, *a%d]}\n", i, i, i-1, i-1)
	}
	fmt.Fprintf(&b, "services:\n  - <<: *a%d\n    name: svc\n", depth)
	return b.String()
}

// aliasFlood lists one big service n times by alias. Plain aliases cannot
// nest deeper than the schema does, so they multiply only by repetition,
// but every visit counts against the budget all the same.
func aliasFlood(n int) string {
	var b strings.Builder
	b.WriteString("x: &svc\n  name: svc\n  policy:\n    thresholds:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "      m%d: {max: 1}\n", i)
	}
	b.WriteString("services:\n")
	for range n {
		b.WriteString("  - *svc\n")
	}
	return b.String()
}

// visits decodes src and returns how many nodes the walk visited, its
// budget, and the problems.
func visits(t *testing.T, src string) (int, int, Errors) {
	t.Helper()
	d, err := decodeYAML([]byte(src), "", &Config{})
	if err != nil {
		t.Fatal(err)
	}
	return d.expand.budget - d.expand.left, d.expand.budget, d.problems
}

func TestExpansionBudget(t *testing.T) {
	n, budget, problems := visits(t, mergeBomb(24))
	file, _ := parser.ParseBytes([]byte(mergeBomb(24)), 0)
	if want := expansionBudget(file.Docs[0].Body); budget != want || budget > expansionBase+expansionPerNode*1000 {
		t.Fatalf("budget %d, want %d for a small file", budget, want)
	}
	// The walk stops at the budget: what runs after it is the unwinding of
	// the recursion, a few visits per level.
	if n > budget+1000 {
		t.Errorf("visited %d nodes, budget %d", n, budget)
	}
	wantProblem(t, problems, "services[0]", 27, fmt.Sprintf("expand to more than %d nodes from here", budget))
	if got := strings.Count(problems.Error(), "expand to more than"); got != 1 {
		t.Errorf("budget problem reported %d times:\n%v", got, problems)
	}
	// Through Parse, nothing under the exhausted path is reported besides it.
	errs := parseErrs(t, mergeBomb(24), "")
	wantProblem(t, errs, "services[0]", 27, "nested aliases multiply")
	for _, p := range errs {
		if strings.HasPrefix(p.Path, "services[0].") {
			t.Errorf("follow-on problem under the refused service: %v", p)
		}
	}

	// After the budget each remaining sibling is touched once, and refused.
	n, budget, problems = visits(t, aliasFlood(5000))
	if written := (budget - expansionBase) / expansionPerNode; n > budget+written || !strings.Contains(problems.Error(), "expand to more than") {
		t.Errorf("alias flood: %d visits of %d, problems:\n%.500v", n, budget, problems)
	}
	var at Problem
	for _, p := range problems {
		if strings.Contains(p.Msg, "expand to more than") {
			at = p
		}
	}
	if !strings.HasPrefix(at.Path, "services[") || strings.Contains(at.Path, ".") || at.Line < 57 {
		t.Errorf("alias flood refused at %s line %d, want a services[N] alias line", at.Path, at.Line)
	}

	// Below the budget a bomb is just a big tree, and decodes.
	if n, budget, problems := visits(t, mergeBomb(8)); n > budget || strings.Contains(problems.Error(), "expand") {
		t.Errorf("depth 8 (%d visits of %d) refused: %v", n, budget, problems)
	}
}

// Sharing a policy by alias between many services, the use aliases are
// for, stays far inside the budget: it grows with the file.
func TestAliasesForRealConfigsFitTheBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n")
	const services = 500
	for i := range services {
		fmt.Fprintf(&b, "  - name: s%d\n    proxy: {listen: '127.0.0.1:%d'}\n    versions: [{name: v1, url: 'http://127.0.0.1:9001'}]\n", i, 10000+i)
		if i == 0 {
			b.WriteString("    policy: &pol\n      window: 30s\n      thresholds:\n        error_rate: {max: 0.02, critical: 0.2}\n        latency_p99_ms: {max: 2000}\n")
		} else {
			b.WriteString("    policy:\n      <<: *pol\n      window: 1m\n")
		}
	}
	n, budget, _ := visits(t, b.String())
	if n*4 > budget {
		t.Errorf("a real file used %d of its %d budget", n, budget)
	}
	cfg := mustParse(t, b.String(), "")
	if p := cfg.Services[services-1].Policy; !reflect.DeepEqual(p.Thresholds, cfg.Services[0].Policy.Thresholds) {
		t.Errorf("merged policy lost its thresholds: %+v", p)
	}
}

// A provider block is decoded later, with its own budget.
func TestExpansionBudgetInBlocks(t *testing.T) {
	var b strings.Builder
	b.WriteString("x0: &a0 {k: 1}\n")
	for i := 1; i <= 24; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [*a%d, *a%d]}\n", i, i, i-1, i-1)
	}
	src := strings.Replace(base, "    policy:\n", "    signals:\n      prometheus: {<<: *a24, url: 'http://x:9090'}\n    policy:\n", 1)
	errs := parseErrs(t, b.String()+src, "")
	wantProblem(t, errs, "services[0].signals.prometheus", 38, "nested aliases multiply")
}
