package prometheus

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"weak"

	"github.com/prometheus/common/model"
)

// Template variables every query gets. Extra variables (config vars and the
// VarsFunc's) may not reuse these names.
const (
	VarService = "Service"
	VarVersion = "Version"
	VarWindow  = "Window"
)

// queryTemplate is one parsed PromQL template.
type queryTemplate struct {
	name string
	tpl  *template.Template
}

// parsed holds every template in use, by name and text, as weak
// pointers: 10,000 services configured with the same query text (which
// names the service through {{.Service}}) share one parse tree, a few KB,
// instead of holding one each. A parsed template is never changed, and
// text/template executes concurrently; an entry goes with the last
// service that used it.
var parsed sync.Map // name NUL text → weak.Pointer[queryTemplate]

// parseQuery parses text as a text/template whose data is a map of
// variables. A key the map lacks is an error at render time, not "<no
// value>" in the middle of a PromQL query.
func parseQuery(name, text string) (*queryTemplate, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%s: empty query", name)
	}
	key := name + "\x00" + text
	if p, ok := parsed.Load(key); ok {
		if q := p.(weak.Pointer[queryTemplate]).Value(); q != nil {
			return q, nil
		}
	}
	tpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	q := &queryTemplate{name: name, tpl: tpl}
	wp := weak.Make(q)
	parsed.Store(key, wp)
	runtime.AddCleanup(q, func(key string) { parsed.CompareAndDelete(key, wp) }, key)
	return q, nil
}

// render executes the template. Every value in vars except Window is escaped
// for a double-quoted PromQL string; Window is a duration ripcord formats
// itself. Values therefore cannot end the label value they are placed in and
// add matchers or operators of their own, whatever they contain.
func (q *queryTemplate) render(vars map[string]string, window time.Duration) (string, error) {
	data := make(map[string]string, len(vars)+1)
	for k, v := range vars {
		data[k] = escapeLabelValue(v)
	}
	data[VarWindow] = model.Duration(window).String()
	var b strings.Builder
	if err := q.tpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", q.name, err)
	}
	return b.String(), nil
}

// escapeLabelValue escapes s for use between double quotes in PromQL. PromQL
// unquotes double-quoted strings with Go's rules, so Go's quoting (without
// the surrounding quotes) is exactly right: \" \\ \n and \x/\u escapes for
// anything unprintable.
func escapeLabelValue(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// checkQuoting renders the template with a marker for every variable it
// uses and verifies that each marker lands inside a double-quoted PromQL
// string: escaping is only correct there. version='{{.Version}}' or an
// unquoted {{.Version}} is refused when the config is loaded rather than
// producing a query that a strange version name could break.
func (q *queryTemplate) checkQuoting() error {
	varNames := q.vars()
	vars := make(map[string]string, len(varNames))
	for i, name := range varNames {
		vars[name] = marker(i)
	}
	out, err := q.render(vars, time.Minute)
	if err != nil {
		return err
	}
	inside := doubleQuoted(out)
	for i, name := range varNames {
		m := marker(i)
		for off := 0; ; {
			i := strings.Index(out[off:], m)
			if i < 0 {
				break
			}
			start := off + i
			if !inside[start] || !inside[start+len(m)-1] {
				return fmt.Errorf("%s: variable %s must be used inside double quotes, e.g. label=\"{{.%s}}\"", q.name, name, name)
			}
			off = start + len(m)
		}
	}
	return nil
}

// vars lists the variables the template reads, as .Name or
// index . "name", except Window (which ripcord formats itself).
func (q *queryTemplate) vars() []string {
	seen := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if len(n.Args) == 3 && n.Args[0].String() == "index" && n.Args[1].Type() == parse.NodeDot {
				if s, ok := n.Args[2].(*parse.StringNode); ok {
					seen[s.Text] = true
				}
			}
			for _, c := range n.Args {
				walk(c)
			}
		case *parse.FieldNode:
			seen[n.Ident[0]] = true
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	walk(q.tpl.Tree.Root)
	delete(seen, VarWindow)
	return slices.Sorted(maps.Keys(seen))
}

// marker is letters and digits only, so escaping leaves it as it is.
func marker(i int) string { return "ripcordVar" + strconv.Itoa(i) + "Marker" }

// doubleQuoted reports, for each byte of a PromQL expression, whether it is
// inside a double-quoted string literal. It knows PromQL's three string
// forms ("…" and '…' with backslash escapes, `…` raw) and # comments.
func doubleQuoted(s string) []bool {
	in := make([]bool, len(s))
	var open byte // 0 outside any string or comment
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case open == '#':
			if c == '\n' {
				open = 0
			}
		case open == 0:
			if c == '"' || c == '\'' || c == '`' || c == '#' {
				open = c
			}
		case c == open:
			open = 0
		case c == '\\' && open != '`':
			in[i] = open == '"'
			i++
			if i < len(s) {
				in[i] = open == '"'
			}
		default:
			in[i] = open == '"'
		}
	}
	return in
}
