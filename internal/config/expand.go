package config

import (
	"github.com/goccy/go-yaml/ast"
)

// source is what every decode of one file shares: the anchors its aliases
// name and the directory its relative paths start at. Blocks keep a pointer
// to it so a provider's block decodes later exactly as if it had been
// decoded with the rest of the file.
type source struct {
	anchors map[string]ast.Node // &name → anchored node
	baseDir string
}

// newSource records every &anchor up front, so aliases resolve no matter in
// which order the walk visits the fields.
func newSource(root ast.Node, baseDir string) *source {
	s := &source{anchors: map[string]ast.Node{}, baseDir: baseDir}
	for _, n := range ast.Filter(ast.AnchorType, root) {
		a := n.(*ast.AnchorNode)
		s.anchors[a.Name.GetToken().Value] = a.Value
	}
	return s
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
			target, ok := d.src.anchors[name]
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
			d.fail(child(path, e.name), k, "key %q is set twice (first on line %d): keep only one", e.name, line)
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
	if n = d.deref(path, n); n == nil {
		return nil
	}
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
