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

	"github.com/ripcord/ripcord/internal/config/field"
)

// decoder fills a value from a YAML syntax tree by walking the tree against
// the structs' yaml tags. goccy/go-yaml's own decoder stops at the first
// error; walking the tree ourselves lets us report every unknown key and
// wrong type in one pass, each with its path and line, and record where every
// key sits so later validation problems get a line too. The same walk
// decodes a provider's Block into the provider's Config (see Decode).
type decoder struct {
	src      *source
	problems Errors
	lines    map[string]int  // path → line of its key (or list item)
	set      map[string]bool // paths given a non-null value
	failed   map[string]bool // paths whose value could not be decoded
	expand   expansion
}

func newDecoder(src *source, root ast.Node) *decoder {
	d := &decoder{
		src:    src,
		lines:  map[string]int{},
		set:    map[string]bool{},
		failed: map[string]bool{},
	}
	d.expand.budget = expansionBudget(root)
	d.expand.left = d.expand.budget
	return d
}

// entry is one key: value pair of a mapping.
type entry struct {
	name     string
	key, val ast.Node
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[field.Secret]()
	fileType     = reflect.TypeFor[field.File]()
	blocksType   = reflect.TypeFor[[]Block]()
)

// decodeYAML parses data and decodes it into cfg. It returns an error only
// when the text is not YAML at all; everything else is left in d.problems.
func decodeYAML(data []byte, baseDir string, cfg *Config) (*decoder, error) {
	// Duplicate keys are allowed by the parser so that we can report all of
	// them ourselves instead of stopping at the first.
	file, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, syntaxProblem(err)
	}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return newDecoder(&source{baseDir: baseDir}, nil), nil // empty file: validation reports what is missing
	}
	root := file.Docs[0].Body
	d := newDecoder(newSource(root, baseDir), root)
	for _, doc := range file.Docs[1:] {
		if doc.Body == nil {
			continue // a trailing "---" adds nothing
		}
		d.fail("", doc.Body, "the config must be a single YAML document: remove the second '---' and what follows it, or merge it into the first")
	}
	d.value("", root, reflect.ValueOf(cfg).Elem())
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

// value decodes n into v according to v's type.
func (d *decoder) value(path string, n ast.Node, v reflect.Value) {
	if !d.spend(path, n) {
		return
	}
	if done := d.expand.enter(path, n); done != nil {
		defer done()
	}
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
	case v.Type() == fileType:
		d.file(path, n, v)
	case v.Type() == secretType:
		d.fail(path, n, "internal error: a secret must be a field of a struct, read from %s_file or ${ENV}", path)
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
// valid ones (and the likely intended one). A struct with a []Block field
// tagged ",remain" keeps every other key as a provider Block instead.
func (d *decoder) structure(path string, n ast.Node, v reflect.Value) {
	info := structOf(v.Type())
	entries, ok := d.entries(path, n)
	if !ok {
		if info.remain >= 0 {
			d.fail(path, n, "must be a mapping with keys %s, not %s", info.validKeys(), describe(n))
		} else {
			d.fail(path, n, "must be a mapping with keys %s, not %s", strings.Join(info.names, ", "), describe(n))
		}
		return
	}
	var secrets []secretKeys
	for _, e := range entries {
		p := child(path, e.name)
		d.lines[p] = lineOf(e.key)
		f, known := info.keys[e.name]
		switch {
		case known && f.secret:
			secrets = addSecretKey(secrets, f, e)
		case known:
			d.value(p, e.val, v.Field(f.index))
		case info.remain >= 0:
			d.block(p, e, v.Field(info.remain))
		default:
			d.fail(p, e.key, "unknown key %q%s; valid keys here are %s",
				e.name, didYouMean(e.name, info.names), strings.Join(info.names, ", "))
		}
	}
	for _, s := range secrets {
		d.secret(path, s, v.Field(s.index))
	}
}

// block keeps a provider's section as a Block for the provider's own type
// to decode later. A null value ("slack:") is as if the key were absent.
func (d *decoder) block(path string, e entry, v reflect.Value) {
	val := d.deref(path, e.val)
	if val == nil {
		return
	}
	if _, null := val.(*ast.NullNode); null {
		return
	}
	d.set[path] = true
	b := Block{Kind: e.name, Path: path, Line: lineOf(e.key), node: e.val, src: d.src}
	v.Set(reflect.Append(v, reflect.ValueOf(b)))
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
		p := child(path, e.name)
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

func keyName(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.GetToken().Value
}

// fieldInfo is how one yaml key maps onto a struct field.
type fieldInfo struct {
	index  int
	secret bool // a field.Secret, given as NAME: ${ENV} or NAME_file: PATH
	file   bool // this key is the NAME_file one
	name   string
}

// structInfo is a struct type's yaml keys, in declaration order for
// messages, and the index of its ",remain" []Block field (-1 if none).
type structInfo struct {
	keys   map[string]fieldInfo
	names  []string
	remain int
}

func structOf(t reflect.Type) structInfo {
	info := structInfo{keys: map[string]fieldInfo{}, remain: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported() || name == "-":
			continue
		case name == "" && opts == "remain" && f.Type == blocksType:
			info.remain = i
			continue
		case name == "":
			continue
		case f.Type == secretType:
			info.keys[name+"_file"] = fieldInfo{index: i, secret: true, file: true, name: name}
			info.keys[name] = fieldInfo{index: i, secret: true, name: name}
			info.names = append(info.names, name+"_file", name)
			continue
		}
		info.keys[name] = fieldInfo{index: i, name: name}
		info.names = append(info.names, name)
	}
	return info
}

// validKeys lists the keys of a struct whose other keys name providers.
func (s structInfo) validKeys() string {
	if len(s.names) == 0 {
		return "naming a provider (see docs/config.md)"
	}
	return strings.Join(s.names, ", ") + " or a provider's name (see docs/config.md)"
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
