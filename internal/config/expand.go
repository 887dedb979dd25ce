package config

import (
	"slices"

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

// Aliases and merge keys let a few lines stand for a huge tree: each level
// of "&a1 {<<: [*a0, *a0]}" doubles it, so 24 levels are 16 million nodes
// and took 55 s to decode. A decode may therefore visit at most
// expansionBase nodes plus expansionPerNode for every node written in the
// text. Any real file stays far below that (sharing one policy between
// 10,000 services expands each node a few times, not ten), and a bomb is
// refused within a fraction of a second.
const (
	expansionBase    = 100_000
	expansionPerNode = 10
)

// expansion counts node visits against the budget and remembers the
// outermost alias or merge being expanded, which is the line to point at.
type expansion struct {
	budget    int
	left      int
	outermost ast.Node
	at        string // path of outermost
	exhausted bool
}

func expansionBudget(root ast.Node) int {
	n := 0
	if root != nil {
		ast.Walk(counter{&n}, root)
	}
	return expansionBase + expansionPerNode*n
}

type counter struct{ n *int }

func (c counter) Visit(n ast.Node) ast.Visitor {
	if n != nil {
		*c.n++
	}
	return c
}

// enter notes n as the outermost expansion when it is an alias and none is
// under way; the returned func (nil otherwise) ends it.
func (e *expansion) enter(path string, n ast.Node) func() {
	if _, alias := n.(*ast.AliasNode); !alias || e.outermost != nil {
		return nil
	}
	e.outermost, e.at = n, path
	return func() { e.outermost = nil }
}

// spend takes one visit from the budget. Past it, the first call reports
// the problem (at the outermost expansion's line) and every call says stop.
func (d *decoder) spend(path string, n ast.Node) bool {
	if d.expand.left--; d.expand.left >= 0 {
		return true
	}
	if !d.expand.exhausted {
		d.expand.exhausted = true
		at := n
		if d.expand.outermost != nil {
			at, path = d.expand.outermost, d.expand.at
		}
		d.fail(path, at, "YAML aliases and merge keys (<<) expand to more than %d nodes from here (nested aliases multiply: each level of <<: [*a, *a] doubles the tree): write the shared part out, or share it without aliases of aliases",
			d.expand.budget)
	}
	return false
}

// deref strips anchors and tags and follows aliases; nil means a problem was
// reported. An alias met twice on one chain is a cycle (`&a *a`, which
// the YAML parser accepts) and is reported instead of followed forever.
func (d *decoder) deref(path string, n ast.Node) ast.Node {
	var seen []string
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		case *ast.AliasNode:
			name := t.Value.GetToken().Value
			if slices.Contains(seen, name) {
				d.fail(path, n, "alias *%s refers to itself: give &%s a value of its own", name, name)
				return nil
			}
			seen = append(seen, name)
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
		if !d.spend(path, k) {
			return nil, true
		}
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
	if done := d.expand.enter(path, n); done != nil {
		defer done()
	} else if d.expand.outermost == nil { // a mapping or list of aliases
		d.expand.outermost, d.expand.at = n, path
		defer func() { d.expand.outermost = nil }()
	}
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
