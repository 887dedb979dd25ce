package prometheus

import (
	"testing"

	"github.com/prometheus/common/model"
)

// TestParseShape: the forms a batch can answer parse, and everything whose
// answer could depend on the other members (functions, operators,
// offsets, comments) does not.
func TestParseShape(t *testing.T) {
	for q, ok := range map[string]bool{
		`http_requests_total{service="a",version="v1"}`:           true,
		`sum(http_requests_total{version="v1",code=~"5.."})`:      true,
		`sum by (le) (x_bucket{version="v1"})`:                    true,
		`sum(x{version="v1"}) by (le)`:                            true,
		"(sum(x{version=\"v1\",code=~\"5..\"}) or vector(0))":     true,
		`sum(x{version="v1",}) or vector(0)`:                      true,
		`{__name__="x",version="v1"}`:                             true,
		`sum(rate(x{version="v1"}[1m]))`:                          false,
		`x{version="v1"} offset 1m`:                               false,
		`sum(x{version="v1"}) / 2`:                                false,
		`sum without (pod) (x{version="v1"})`:                     false,
		"x{version=\"v1\"} # comment":                             false,
		`x{version='v1'}`:                                         false,
		`max(x{version="v1"})`:                                    false,
		`sum(x{version="v1"}) or vector(1)`:                       false,
		`x{version="v1"} or y{version="v1"}`:                      false,
		`label_replace(x{version="v1"}, "a", "b", "c", "d")`:      false,
		`sum(x{version="v1"}) by (le) by (pod)`:                   false,
		`sum by (le) (x{version="v1"}) or vector(0) or vector(0)`: false,
		`x{version="v1\"} or vector(1) # "}`:                      true, // one label value
		`sum(x{version="v1"}) or vector(0) and on() y{a="b"}`:     false,
		`x{version="v1"}[1m]`:                                     false,
		`x{version="v1"} @ 1700000000`:                            false,
		`sum(sum(x{version="v1"}))`:                               false,
		`sum(x{version="v1"}`:                                     false,
		`xx{version="v1"}}`:                                       false,
		`sum(x{version="v1"}) by le`:                              false,
		`sum by (le,) (x{version="v1"})`:                          true,
		`x{version="v1" service="a"}`:                             false,
		`x{version=~"v1|v2",service!="a",pod!~"p.*"}`:             true,
		`  sum by (le)  (  x{version="v1"}  )  `:                  true,
		`sumx{version="v1"}`:                                      true, // the metric sumx
		`sum(x{version="v1"}) ory{a="b"}`:                         false,
		`bool`:                                                    true, // a metric of that name
		``:                                                        false,
		`{}`:                                                      false,
		`sum(x)`:                                                  true,
		`sum by () (x{version="v1"})`:                             true,
		`(((x{version="v1"})))`:                                   true,
		`((x{version="v1"})`:                                      false,
		`x{version="v1"} or vector(0)`:                            true,
		`x{version="v1"} or vector (0)`:                           true,
		`x{version="v1"} or vector(00)`:                           false,
		`x{version="v1"} or vector(0.0)`:                          false,
		`x{version="v1"} or vectorx(0)`:                           false,
		`x{version="v1"} unless y`:                                false,
		`sum by (le) (x{version="v1"}) * on(le) group_left y`:     false,
		"sum by (le)\n(\nx_bucket{\n  version=\"v1\",\n  pod=~\"web-.*\"\n}\n)\n": true,
	} {
		if _, got := parseShape(q); got != ok {
			t.Errorf("parseShape(%q) ok = %v, want %v", q, got, ok)
		}
	}
}

// TestBatchPick: the batched query widens only the matchers that differ,
// and each member's part is the series its own query returns, labelled as
// its own query labels them.
func TestBatchPick(t *testing.T) {
	parse := func(q string) *shape {
		sh, ok := parseShape(q)
		if !ok {
			t.Fatalf("%q does not parse", q)
		}
		return sh
	}
	a := parse(`sum(req{ns="prod",service="a.b",version="v1",code=~"5.."})`)
	b := parse(`sum(req{ns="prod",service="c",version="v1",code=~"5.."})`)
	if a.key() != b.key() {
		t.Fatal("same form, different keys")
	}
	if c := parse(`sum(req{ns="prod",service="c",version="v1",code=~"4.."})`); c.key() == a.key() {
		t.Fatal("a different regexp matcher shares the key")
	}
	q, varying := batch([]*shape{a, b})
	if want := `sum by (service) (req{ns="prod",service=~"a\\.b|c",version="v1",code=~"5.."})`; q != want {
		t.Fatalf("batch = %s, want %s", q, want)
	}
	vec := model.Vector{
		{Metric: model.Metric{"service": "a.b"}, Value: 3},
		{Metric: model.Metric{"service": "c"}, Value: 5},
		{Metric: model.Metric{"service": "aXb"}, Value: 7}, // cannot be: the regexp is quoted
	}
	got := a.pick(byValues(vec, varying), varying)
	if len(got) != 1 || got[0].Value != 3 || len(got[0].Metric) != 0 {
		t.Fatalf("a's part %v, want one series {} 3", got)
	}
	if got := b.pick(byValues(vec, varying), varying); len(got) != 1 || got[0].Value != 5 {
		t.Fatalf("b's part %v, want 5", got)
	}
	// A bare selector keeps every label: a member's series are those with
	// its values.
	x := parse(`req{service="a",version="v1"}`)
	y := parse(`req{service="a",version="v2"}`)
	q, varying = batch([]*shape{x, y})
	if want := `req{service="a",version=~"v1|v2"}`; q != want {
		t.Fatalf("batch = %s, want %s", q, want)
	}
	vec = model.Vector{
		{Metric: model.Metric{"service": "a", "version": "v1", "pod": "p1"}, Value: 1},
		{Metric: model.Metric{"service": "a", "version": "v2", "pod": "p1"}, Value: 2},
		{Metric: model.Metric{"service": "a", "version": "v1", "pod": "p2"}, Value: 4},
	}
	if got := x.pick(byValues(vec, varying), varying); len(got) != 2 || got[0].Value+got[1].Value != 5 || got[0].Metric["pod"] == "" {
		t.Fatalf("v1's part %v, want pods p1 and p2", got)
	}
}
