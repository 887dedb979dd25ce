package prometheus

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unique"

	"github.com/prometheus/common/model"
)

// shape is a rendered counts template of a form ripcord can batch: one
// selector, optionally summed (sum, sum by (…)), optionally followed by
// "or vector(0)". Anything else (functions, binary operators, offsets,
// comments, single-quoted strings) does not parse and is read per service.
//
// Why these forms and no others: for them, the answer of one service's
// query is exactly a subset of the answer of a query whose equality
// matchers are widened to regular expressions over every service's value,
// picked out by those labels — for a bare selector because an equality
// matcher selects series by that label's value, for a sum because grouping
// by the widened labels keeps each service's sum apart. Nothing in the
// answer depends on which other services were asked about.
type shape struct {
	agg    bool     // sum(…)
	orZero bool     // … or vector(0)
	by     []string // sum by (…), sorted
	name   string   // metric name, empty for {…} alone
	eq     matchers // label="value", sorted by label
	other  []string // other matchers, verbatim in canonical form
}

// matchers are a selector's equality matchers, sorted by label: a slice
// of two or three, not a map (each version's tallies keep their shapes,
// and a map of a few strings costs a few hundred bytes).
type matchers []matcher

type matcher struct{ label, value string }

func (ms matchers) get(label string) (string, bool) {
	for _, m := range ms {
		if m.label == label {
			return m.value, true
		}
	}
	return "", false
}

// with is ms with label="value" added in order; label is not in ms.
func (ms matchers) with(label, value string) matchers {
	i, _ := slices.BinarySearchFunc(ms, label, func(m matcher, l string) int { return strings.Compare(m.label, l) })
	return slices.Insert(ms, i, matcher{label, value})
}

func (ms matchers) labels() []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.label
	}
	return out
}

var (
	identRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*`)
	metricRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`)
	stringRE = regexp.MustCompile(`^"(?:[^"\\\n]|\\.)*"`)
	opRE     = regexp.MustCompile(`^(=~|!~|!=|=)`)
)

type shapeParser struct{ s string }

func (p *shapeParser) skip() { p.s = strings.TrimLeft(p.s, " \t\r\n") }

func (p *shapeParser) lit(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.s, tok) {
		p.s = p.s[len(tok):]
		return true
	}
	return false
}

// word consumes the keyword kw when it stands alone (not a prefix of a name).
func (p *shapeParser) word(kw string) bool {
	p.skip()
	m := metricRE.FindString(p.s)
	if m == kw {
		p.s = p.s[len(m):]
		return true
	}
	return false
}

func (p *shapeParser) re(re *regexp.Regexp) (string, bool) {
	p.skip()
	m := re.FindString(p.s)
	p.s = p.s[len(m):]
	return m, m != ""
}

// parseShape parses a rendered counts template; ok is false when its form
// cannot be batched.
func parseShape(q string) (*shape, bool) {
	p := &shapeParser{s: q}
	sh := &shape{}
	if !p.expr(sh) {
		return nil, false
	}
	p.skip()
	if p.s != "" {
		return nil, false
	}
	sh.own()
	return sh, true
}

// own makes sh hold no part of the text it was parsed from (each
// version's tally keeps its shapes, and a substring keeps the whole
// rendered query alive): the names every service shares (the metric, the
// labels, the other matchers) are interned, the values copied.
func (sh *shape) own() {
	sh.name = unique.Make(sh.name).Value()
	for i, l := range sh.by {
		sh.by[i] = unique.Make(l).Value()
	}
	for i, o := range sh.other {
		sh.other[i] = unique.Make(o).Value()
	}
	sh.eq = slices.Clone(sh.eq) // exactly its length: Insert left room to grow
	for i, m := range sh.eq {
		sh.eq[i] = matcher{label: unique.Make(m.label).Value(), value: strings.Clone(m.value)}
	}
}

// expr is a term, in parentheses or not, and at most one "or vector(0)".
func (p *shapeParser) expr(sh *shape) bool {
	if p.lit("(") {
		if !p.expr(sh) || !p.lit(")") {
			return false
		}
	} else if !p.term(sh) {
		return false
	}
	if p.word("or") {
		if sh.orZero || !p.word("vector") || !p.lit("(") || !p.lit("0") || !p.lit(")") {
			return false
		}
		sh.orZero = true
	}
	return true
}

func (p *shapeParser) term(sh *shape) bool {
	if p.word("sum") {
		sh.agg = true
		if p.word("by") && !p.labels(sh) {
			return false
		}
		if !p.lit("(") || !p.selector(sh) || !p.lit(")") {
			return false
		}
		if p.word("by") {
			if sh.by != nil || !p.labels(sh) {
				return false
			}
		}
		return true
	}
	return p.selector(sh)
}

func (p *shapeParser) labels(sh *shape) bool {
	if !p.lit("(") {
		return false
	}
	sh.by = []string{}
	for !p.lit(")") {
		l, ok := p.re(identRE)
		if !ok {
			return false
		}
		sh.by = append(sh.by, l)
		if !p.lit(",") && !strings.HasPrefix(strings.TrimLeft(p.s, " \t\r\n"), ")") {
			return false
		}
	}
	slices.Sort(sh.by)
	return true
}

func (p *shapeParser) selector(sh *shape) bool {
	if p.word("sum") || p.word("or") || p.word("by") {
		return false
	}
	sh.name, _ = p.re(metricRE)
	if !p.lit("{") {
		return sh.name != ""
	}
	for !p.lit("}") {
		l, ok := p.re(identRE)
		if !ok {
			return false
		}
		op, ok := p.re(opRE)
		if !ok {
			return false
		}
		raw, ok := p.re(stringRE)
		if !ok {
			return false
		}
		v, err := strconv.Unquote(raw)
		if err != nil {
			return false
		}
		if _, dup := sh.eq.get(l); op == "=" && !dup && l != model.MetricNameLabel {
			sh.eq = sh.eq.with(l, v)
		} else {
			sh.other = append(sh.other, l+op+strconv.Quote(v))
		}
		if !p.lit(",") && !strings.HasPrefix(strings.TrimLeft(p.s, " \t\r\n"), "}") {
			return false
		}
	}
	return sh.name != "" || len(sh.eq)+len(sh.other) > 0
}

// key is what services must share for their queries to be batched: all but
// the values of the equality matchers.
func (sh *shape) key() string {
	eq := sh.eq.labels()
	return fmt.Sprintf("%t|%q|%s|%q|%q|%t", sh.agg, sh.by, sh.name, eq, sh.other, sh.orZero)
}

// batch renders one query for every shape in shs (which share a key) and
// returns the labels whose values tell the shapes' answers apart.
func batch(shs []*shape) (query string, varying []string) {
	first := shs[0]
	var ms []string
	for _, m := range first.eq {
		l := m.label
		vals := map[string]bool{}
		for _, sh := range shs {
			v, _ := sh.eq.get(l)
			vals[v] = true
		}
		if len(vals) == 1 {
			ms = append(ms, l+"="+strconv.Quote(m.value))
			continue
		}
		varying = append(varying, l)
		alts := make([]string, 0, len(vals))
		for _, v := range sortedKeys(vals) {
			alts = append(alts, regexp.QuoteMeta(v))
		}
		ms = append(ms, l+"=~"+strconv.Quote(strings.Join(alts, "|")))
	}
	ms = append(ms, first.other...)
	sel := first.name + "{" + strings.Join(ms, ",") + "}"
	if !first.agg {
		return sel, varying
	}
	by := append(slices.Clone(first.by), varying...)
	slices.Sort(by)
	return "sum by (" + strings.Join(slices.Compact(by), ",") + ") (" + sel + ")", varying
}

// byValues groups a batched answer by the values of the varying labels,
// so each member finds its part in one lookup, not a pass over the answer.
func byValues(vec model.Vector, varying []string) map[string]model.Vector {
	out := map[string]model.Vector{}
	for _, s := range vec {
		var k strings.Builder
		for _, l := range varying {
			k.WriteString(string(s.Metric[model.LabelName(l)]))
			k.WriteByte(0xff) // not in a valid UTF-8 label value
		}
		out[k.String()] = append(out[k.String()], s)
	}
	return out
}

// pick returns sh's part of a batched answer grouped by byValues,
// labelled as sh's own query would have labelled it (a sum loses the
// labels it was not grouped by), so the tally's series are the same
// whether a read was batched or not.
func (sh *shape) pick(groups map[string]model.Vector, varying []string) model.Vector {
	var k strings.Builder
	for _, l := range varying {
		v, _ := sh.eq.get(l)
		k.WriteString(v)
		k.WriteByte(0xff)
	}
	var out model.Vector
	for _, s := range groups[k.String()] {
		if sh.agg {
			m := s.Metric.Clone()
			for _, l := range varying {
				if !slices.Contains(sh.by, l) {
					delete(m, model.LabelName(l))
				}
			}
			c := *s
			c.Metric = m
			s = &c
		}
		out = append(out, s)
	}
	return out
}
