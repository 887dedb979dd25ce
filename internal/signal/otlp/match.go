package otlp

import (
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// cond is one attribute condition of a mapping's where or bad.
//
// Syntax of the value: "*" (the attribute is present), "!*" (absent),
// ">=N", ">N", "<=N", "<N" (a number, or a string holding one),
// "!=X" (absent or different), anything else: equal to its string form.
type cond struct {
	op  string // "*", "!*", ">=", ">", "<=", "<", "!=", "="
	num float64
	str string
}

func parseCond(s string) (cond, error) {
	switch s {
	case "*", "!*":
		return cond{op: s}, nil
	}
	for _, op := range []string{">=", "<=", "!=", ">", "<"} {
		rest, ok := strings.CutPrefix(s, op)
		if !ok {
			continue
		}
		if op == "!=" {
			return cond{op: op, str: rest}, nil
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return cond{}, fmt.Errorf("%q: %s needs a number, e.g. %s500", s, op, op)
		}
		return cond{op: op, num: n}, nil
	}
	return cond{op: "=", str: s}, nil
}

func (c cond) match(v pcommon.Value, ok bool) bool {
	switch c.op {
	case "*":
		return ok
	case "!*":
		return !ok
	case "!=":
		return !ok || v.AsString() != c.str
	case "=":
		return ok && v.AsString() == c.str
	}
	if !ok {
		return false
	}
	n, isNum := number(v)
	if !isNum {
		return false
	}
	switch c.op {
	case ">=":
		return n >= c.num
	case ">":
		return n > c.num
	case "<=":
		return n <= c.num
	default:
		return n < c.num
	}
}

func number(v pcommon.Value) (float64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseFloat(v.Str(), 64)
		return n, err == nil
	}
	return 0, false
}

// conds is a set of attribute conditions.
type conds []keyCond

type keyCond struct {
	key string
	c   cond
}

func parseConds(m map[string]string) (conds, error) {
	var out conds
	for k, s := range m {
		c, err := parseCond(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out = append(out, keyCond{k, c})
	}
	return out, nil
}

// all reports whether every condition holds for attrs (true when empty).
func (cs conds) all(attrs pcommon.Map) bool {
	for _, kc := range cs {
		v, ok := attrs.Get(kc.key)
		if !kc.c.match(v, ok) {
			return false
		}
	}
	return true
}

// any reports whether some condition holds for attrs (false when empty).
func (cs conds) any(attrs pcommon.Map) bool {
	for _, kc := range cs {
		v, ok := attrs.Get(kc.key)
		if kc.c.match(v, ok) {
			return true
		}
	}
	return false
}
