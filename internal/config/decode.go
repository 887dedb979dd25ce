package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// decoder fills a Config from a YAML syntax tree by walking the tree against
// the structs' yaml tags. goccy/go-yaml's own decoder stops at the first
// error; walking the tree ourselves lets us report every unknown key and
// wrong type in one pass, each with its path and line, and record where every
// key sits so later validation problems get a line too.
type decoder struct {
	problems Errors
	lines    map[string]int      // path → line of its key (or list item)
	set      map[string]bool     // paths given a non-null value
	failed   map[string]bool     // paths whose value could not be decoded
	anchors  map[string]ast.Node // &name → anchored node
}

func newDecoder() *decoder {
	return &decoder{
		lines:   map[string]int{},
		set:     map[string]bool{},
		failed:  map[string]bool{},
		anchors: map[string]ast.Node{},
	}
}

// entry is one key: value pair of a mapping.
type entry struct {
	name     string
	key, val ast.Node
}

var durationType = reflect.TypeFor[time.Duration]()

// decodeYAML parses data and decodes it into cfg. It returns an error only
// when the text is not YAML at all; everything else is left in d.problems.
func decodeYAML(data []byte, cfg *Config) (*decoder, error) {
	// Duplicate keys are allowed by the parser so that we can report all of
	// them ourselves instead of stopping at the first.
	file, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, syntaxProblem(err)
	}
	d := newDecoder()
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return d, nil // empty file: validation reports what is missing
	}
	for _, doc := range file.Docs[1:] {
		if doc.Body == nil {
			continue // a trailing "---" adds nothing
		}
		d.fail("", doc.Body, "the config must be a single YAML document: remove the second '---' and what follows it, or merge it into the first")
	}
	d.collectAnchors(file.Docs[0].Body)
	d.value("", file.Docs[0].Body, reflect.ValueOf(cfg).Elem())
	return d, nil
}

// syntaxProblem turns a parser error into Errors with the line it points at.
func syntaxProblem(err error) error {
	var yerr yaml.Error
	if errors.As(err, &yerr) && yerr.GetToken() != nil {
		return Errors{{Line: yerr.GetToken().Position.Line,
			Msg: "YAML syntax error: " + yerr.GetMessage() + " (check indentation, quotes and ':' near this line)"}}
	}
	return fmt.Errorf("parse YAML: %w", err)
}

// isSet reports whether the user gave path a value that decoded; defaults
// fill everything else (see Config.applyDefaults).
func (d *decoder) isSet(path string, _ bool) bool { return d.set[path] && !d.failed[path] }

func (d *decoder) fail(path string, n ast.Node, format string, args ...any) {
	d.failed[path] = true
	d.problems = append(d.problems, Problem{Path: path, Line: lineOf(n), Msg: fmt.Sprintf(format, args...)})
}

func lineOf(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// collectAnchors records every &anchor up front, so aliases resolve no matter
// in which order the walk visits the fields.
func (d *decoder) collectAnchors(root ast.Node) {
	for _, n := range ast.Filter(ast.AnchorType, root) {
		a := n.(*ast.AnchorNode)
		d.anchors[a.Name.GetToken().Value] = a.Value
	}
}

// deref strips anchors and tags and follows aliases; nil means a problem was
// reported.
func (d *decoder) deref(path string, n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		case *ast.AliasNode:
			name := t.Value.GetToken().Value
			target, ok := d.anchors[name]
			if !ok {
				d.fail(path, n, "alias *%s names no anchor: define &%s on the value you want to reuse", name, name)
				return nil
			}
			n = target
		default:
			return n
		}
	}
}

// value decodes n into v according to v's type.
func (d *decoder) value(path string, n ast.Node, v reflect.Value) {
	if n = d.deref(path, n); n == nil {
		return
	}
	if _, null := n.(*ast.NullNode); null {
		return // "key:" with nothing after it means "use the default"
	}
	d.set[path] = true
	switch {
	case v.Type() == durationType:
		d.duration(path, n, v)
	case v.Kind() == reflect.Struct:
		d.structure(path, n, v)
	case v.Kind() == reflect.Slice:
		d.list(path, n, v)
	case v.Kind() == reflect.Map:
		d.mapping(path, n, v)
	case v.Kind() == reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(path, n, p.Elem())
		if !d.failed[path] {
			v.Set(p)
		}
	default:
		d.scalar(path, n, v)
	}
}

// structure decodes a mapping into a struct, reporting unknown keys with the
// valid ones (and the likely intended one).
func (d *decoder) structure(path string, n ast.Node, v reflect.Value) {
	fields, names := yamlFields(v.Type())
	entries, ok := d.entries(path, n)
	if !ok {
		d.fail(path, n, "must be a mapping with keys %s, not %s", strings.Join(names, ", "), describe(n))
		return
	}
	for _, e := range entries {
		p := field(path, e.name)
		d.lines[p] = lineOf(e.key)
		i, known := fields[e.name]
		if !known {
			d.fail(p, e.key, "unknown key %q%s; valid keys here are %s",
				e.name, didYouMean(e.name, names), strings.Join(names, ", "))
			continue
		}
		d.value(p, e.val, v.Field(i))
	}
}

// mapping decodes a mapping into a fresh map[string]T: a map given in the
// file replaces the default map wholesale rather than merging into it.
func (d *decoder) mapping(path string, n ast.Node, v reflect.Value) {
	entries, ok := d.entries(path, n)
	if !ok {
		d.fail(path, n, "must be a mapping of name: value, not %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(entries))
	for _, e := range entries {
		p := field(path, e.name)
		d.lines[p] = lineOf(e.key)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(p, e.val, elem)
		m.SetMapIndex(reflect.ValueOf(e.name).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

// list decodes a sequence into a slice.
func (d *decoder) list(path string, n ast.Node, v reflect.Value) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.fail(path, n, "must be a list (one '- item' per entry), not %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, item := range seq.Values {
		p := index(path, i)
		d.lines[p] = lineOf(item)
		d.value(p, item, out.Index(i))
	}
	v.Set(out)
}

// entries flattens a mapping node. Keys merged with "<<: *anchor" come first
// and explicit keys override them (YAML merge semantics); a key written twice
// is a problem, because silently keeping one hides a mistake.
func (d *decoder) entries(path string, n ast.Node) ([]entry, bool) {
	m, ok := n.(ast.MapNode)
	if !ok {
		return nil, false
	}
	var merged, explicit []entry
	first := map[string]int{}
	for it := m.MapRange(); it.Next(); {
		k := it.Key()
		if k.IsMergeKey() {
			merged = append(merged, d.mergeSources(path, it.Value())...)
			continue
		}
		e := entry{name: keyName(k), key: k, val: it.Value()}
		if line, dup := first[e.name]; dup {
			d.fail(field(path, e.name), k, "key %q is set twice (first on line %d): keep only one", e.name, line)
			continue
		}
		first[e.name] = lineOf(k)
		explicit = append(explicit, e)
	}
	return dedupe(append(merged, explicit...)), true
}

// mergeSources returns the entries a "<<" key merges in: one mapping or a
// list of them.
func (d *decoder) mergeSources(path string, n ast.Node) []entry {
	n = d.deref(path, n)
	nodes := []ast.Node{n}
	if seq, ok := n.(*ast.SequenceNode); ok {
		nodes = seq.Values
	}
	var out []entry
	for _, src := range nodes {
		es, ok := d.entries(path, d.deref(path, src))
		if !ok {
			d.fail(path, src, "'<<' must merge a mapping (e.g. <<: *defaults), not %s", describe(src))
			continue
		}
		out = append(out, es...)
	}
	return out
}

// dedupe keeps the last entry for each name, at the position of the first.
func dedupe(es []entry) []entry {
	pos := map[string]int{}
	out := es[:0:0]
	for _, e := range es {
		if i, ok := pos[e.name]; ok {
			out[i] = e
			continue
		}
		pos[e.name] = len(out)
		out = append(out, e)
	}
	return out
}

func keyName(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.GetToken().Value
}

// yamlFields maps each yaml key of struct type t to its field index, and
// lists the keys in declaration order for messages.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !t.Field(i).IsExported() {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}

// describe names a node's kind for "must be X, not Y" messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.BoolNode:
		return "true/false"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	default:
		return "a string"
	}
}
