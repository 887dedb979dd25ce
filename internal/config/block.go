package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/ripcord/ripcord/internal/config/field"
)

// Block is one provider's section of the file: the value under a kind key
// such as services[0].target.kubernetes or notify.channels[2].slack. Config
// cannot type it without importing the provider, so it keeps the YAML node,
// where it sits and what its aliases and relative paths refer to; Decode
// turns it into the provider's own Config later, as strictly as the rest of
// the file was decoded.
type Block struct {
	Kind string // the key: prometheus, kubernetes, slack, …
	Path string // where it sits: services[0].signals.prometheus
	Line int    // line of the key, 0 for a block built in Go

	node  ast.Node
	src   *source
	value any // the Config given to BlockOf
}

// BlockOf is a block of kind holding an already typed Config, for Go code
// that builds a Config (tests, benchmarks). Decode returns a copy of it,
// validated; its secrets and paths are taken as they are.
func BlockOf(kind string, cfg any) Block { return Block{Kind: kind, Path: kind, value: cfg} }

// Validator is what a provider's Config implements: Validate reports
// problems with paths relative to the block ("mode", "queries.error_rate"),
// ideally as field.Errors; any other error is placed at the block itself.
// It must not contact anything: check-config runs it.
type Validator[T any] interface {
	*T
	Validate() error
}

// Decode decodes b strictly into the provider's Config type T (unknown keys
// and wrong types are problems; secrets and paths are resolved), runs its
// Validate, and returns every problem of both as Errors with the full path
// and line: services[0].target.kubernetes.mode: line 12: …. Problems
// under a key that failed to decode are dropped, as for the rest of the file.
func Decode[T any, P Validator[T]](b Block) (T, error) {
	var cfg T
	if b.value != nil {
		switch v := b.value.(type) {
		case T:
			cfg = v
		case *T:
			cfg = *v
		default:
			return cfg, Errors{{Path: b.Path, Msg: fmt.Sprintf("internal error: a %s block holds %T, want %T", b.Kind, b.value, cfg)}}
		}
		return cfg, Errors(place(b.Path, P(&cfg).Validate())).Err()
	}
	d := newDecoder(b.src, b.node)
	d.lines[b.Path] = b.Line
	d.value(b.Path, b.node, reflect.ValueOf(&cfg).Elem())
	problems := append(d.problems, d.locate(place(b.Path, P(&cfg).Validate()))...)
	return cfg, problems.Err()
}

// place puts a provider's problems under the block's path.
func place(path string, err error) Errors {
	if err == nil {
		return nil
	}
	var rel Errors
	if !errors.As(err, &rel) {
		return Errors{{Path: path, Msg: err.Error()}}
	}
	out := make(Errors, len(rel))
	for i, p := range rel {
		p.Path = field.Join(path, p.Path)
		out[i] = p
	}
	return out
}

// Kind is one provider kind as the config sees it: the key that names it
// and how to decode and validate a block of it (typically a call of Decode
// with the provider's Config type). app holds the table.
type Kind struct {
	Name  string
	Check func(Block) error
	// ListsVersions: a revert target that takes its versions from the
	// service's versions list (file, exec, webhook), where url is then
	// optional; other targets discover them and the list is refused.
	ListsVersions bool
}

// Providers lists the provider kinds allowed in each section, in the order
// messages name them. Parse routes every block to its kind and reports
// unknown kinds, missing and doubled ones; a Providers without kinds
// allows no provider blocks at all.
type Providers struct {
	Signals []Kind // services[].signals.<kind>; any number
	// Receivers are the daemon-wide signals.<kind> (the OTLP receiver);
	// at most one each, which a key can only appear once to give.
	Receivers []Kind
	Targets   []Kind // services[].target.<kind>; at most one
	Channels  []Kind // notify.channels[].<kind>; exactly one
	// Schemas are the drivers under services[].schema_source; at most one.
	Schemas []Kind
	// SchemaRange checks a version's schema: {min, max} (nil: unchecked),
	// since config cannot import the package that compares versions.
	SchemaRange func(min, max string) error
}

// route checks every provider block of c against p.
func (c *Config) route(r *report, p Providers) {
	for i := range c.Services {
		s := &c.Services[i]
		path := index("services", i)
		routeBlocks(r, s.Signals.Providers, p.Signals, []string{"headers"})
		routeBlocks(r, s.Target.Providers, p.Targets, nil)
		if len(s.Target.Providers) > 1 {
			r.add(child(path, "target"), "sets %s: a service has one revert target; keep one", kindList(s.Target.Providers))
		}
		s.routeTargetVersions(r, path, c.BaseDir, p)
		s.routeSchema(r, path, p)
	}
	routeBlocks(r, c.Signals.Providers, p.Receivers, nil)
	for i, ch := range c.Notify.Channels {
		path := index("notify.channels", i)
		switch len(ch.Providers) {
		case 0:
			r.add(path, "sets no channel kind: add one of %s", strings.Join(kindNames(p.Channels), ", "))
		case 1:
		default:
			r.add(path, "sets %s: one channel has exactly one kind; split it into several channels", kindList(ch.Providers))
		}
		routeBlocks(r, ch.Providers, p.Channels, []string{"name"})
	}
}

// routeBlocks hands each block to its kind's Check; a key that names no
// kind is an unknown key, reported with the valid ones.
func routeBlocks(r *report, blocks []Block, kinds []Kind, static []string) {
	for _, b := range blocks {
		k := kindNamed(kinds, b.Kind)
		if k == nil {
			valid := slices.Concat(static, kindNames(kinds))
			r.list = append(r.list, Problem{Path: b.Path, Line: b.Line,
				Msg: fmt.Sprintf("unknown key %q%s; valid keys here are %s", b.Kind, didYouMean(b.Kind, valid), strings.Join(valid, ", "))})
			continue
		}
		var errs Errors
		switch err := k.Check(b); {
		case errors.As(err, &errs):
			r.list = append(r.list, errs...)
		case err != nil:
			r.list = append(r.list, Problem{Path: b.Path, Line: b.Line, Msg: err.Error()})
		}
	}
}

func kindNamed(kinds []Kind, name string) *Kind {
	for i := range kinds {
		if kinds[i].Name == name {
			return &kinds[i]
		}
	}
	return nil
}

func kindNames(kinds []Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Name
	}
	return out
}

func kindList(blocks []Block) string {
	names := make([]string, len(blocks))
	for i, b := range blocks {
		names[i] = b.Kind
	}
	return strings.Join(names, " and ")
}
