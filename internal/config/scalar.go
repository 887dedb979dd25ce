package config

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Scalars are converted here rather than by the YAML library so that a
// version named 1.10 stays "1.10" (not the float 1.1), 0123 is not read as
// octal, and each kind of mistake gets a message that says how to fix it.
// Messages may quote the offending value: secrets are only ever strings, and
// a string field accepts any scalar, so a secret never reaches these errors.

// text returns the scalar's text as written (quotes removed), or false for
// mappings and lists.
func text(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		return t.Value.Value, true
	case ast.ScalarNode:
		return t.GetToken().Value, true
	default:
		return "", false
	}
}

// scalar decodes a string, bool, integer or float field.
func (d *decoder) scalar(path string, n ast.Node, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		s, ok := text(n)
		if !ok {
			d.fail(path, n, "must be a single value (a string), not %s", describe(n))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.fail(path, n, "must be true or false, not %s", quoted(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int64:
		d.integer(path, n, v)
	case reflect.Float64:
		d.float(path, n, v)
	default:
		d.fail(path, n, "internal error: cannot decode into %s", v.Type())
	}
}

func (d *decoder) integer(path string, n ast.Node, v reflect.Value) {
	s, _ := text(n)
	i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if _, isInt := n.(*ast.IntegerNode); !isInt || err != nil || v.OverflowInt(i) {
		d.fail(path, n, "must be a whole number such as 50, not %s", quoted(n))
		return
	}
	v.SetInt(i)
}

func (d *decoder) float(path string, n ast.Node, v reflect.Value) {
	var f float64
	switch t := n.(type) {
	case *ast.FloatNode:
		f = t.Value
	case *ast.IntegerNode:
		s, _ := text(n)
		f, _ = strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	case *ast.InfinityNode, *ast.NanNode:
		d.fail(path, n, "must be a finite number, not %s", quoted(n))
		return
	default:
		hint := ""
		if s, _ := text(n); strings.HasSuffix(strings.TrimSpace(s), "%") {
			hint = ": write shares as fractions without %, e.g. 5% is 0.05"
		}
		d.fail(path, n, "must be a number such as 0.05, not %s%s", quoted(n), hint)
		return
	}
	v.SetFloat(f)
}

// duration decodes Go duration syntax, the form the docs use ("250ms", "5m").
// A bare 0 is accepted; any other number needs a unit, because "5" could mean
// seconds or milliseconds and guessing wrong changes rollback behaviour.
func (d *decoder) duration(path string, n ast.Node, v reflect.Value) {
	s, ok := text(n)
	dur, err := time.ParseDuration(strings.TrimSpace(s))
	if !ok || err != nil {
		d.fail(path, n, "%s is not a duration: write a number followed by a unit (ms, s, m, h) with no space, e.g. 250ms, 10s, 5m or 1h30m", quoted(n))
		return
	}
	v.SetInt(int64(dur))
}

// quoted renders a scalar for a message, or its kind for mappings and lists.
// Long values are cut so a pasted blob does not flood the report.
func quoted(n ast.Node) string {
	s, ok := text(n)
	if !ok {
		return describe(n)
	}
	const maxLen = 40
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return strconv.Quote(s)
}

// finite reports whether f is an ordinary number (not NaN or ±Inf).
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
