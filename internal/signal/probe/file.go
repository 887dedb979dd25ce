package probe

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/ripcord/ripcord/internal/signal/jsonpath"
)

// Probe is one golden request and what its answer must look like.
type Probe struct {
	Name    string            `yaml:"name"`
	Method  string            `yaml:"method"` // default GET
	Path    string            `yaml:"path"`   // required; starts with "/", may carry a query
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	Expect  Expect            `yaml:"expect"`
}

// Expect is what a probe's answer must satisfy. Every condition given must
// hold for the probe to pass.
type Expect struct {
	// Status is the exact status wanted; 0 means any 2xx.
	Status int `yaml:"status"`
	// MaxLatency bounds the time to the full response; 0 means no bound.
	MaxLatency time.Duration `yaml:"max_latency"`
	// JSON checks values in a JSON response body.
	JSON []JSONExpect `yaml:"json"`
}

// JSONExpect checks the value at one path of the JSON body. With none of
// equals, contains, regex or range set it checks that the path exists.
type JSONExpect struct {
	// Path is dotted keys with [index] for arrays: choices[0].message.content,
	// [0].id for a top-level array.
	Path string `yaml:"path"`
	// Equals is compared with the value as JSON (numbers by value, objects
	// and arrays deeply). null cannot be expected: it reads as "not set".
	Equals any `yaml:"equals"`
	// Contains is a substring of a string value, or an element of an array.
	Contains any `yaml:"contains"`
	// Regex must match a string value (other values as their JSON text).
	Regex string `yaml:"regex"`
	// Range is [min, max], inclusive, for a numeric value.
	Range []float64 `yaml:"range"`

	path  jsonpath.Path
	regex *regexp.Regexp
}

// Load reads and parses a probe file (YAML, or JSON, which is YAML too).
func Load(file string) ([]Probe, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("probe file: %w", err)
	}
	probes, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("probe file %s: %w", file, err)
	}
	return probes, nil
}

// Parse parses a probe file's text. Every problem is reported, each naming
// the probe's index and the field, e.g. "probes[2].expect.json[0].range:
// want [min, max]".
func Parse(data []byte) ([]Probe, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError("", err)
	}
	items, err := probeNodes(file)
	if err != nil {
		return nil, err
	}
	var errs []error
	probes := make([]Probe, 0, len(items))
	for i, item := range items {
		at := fmt.Sprintf("probes[%d]", i)
		var p Probe
		if err := yaml.NodeToValue(item, &p, yaml.DisallowUnknownField()); err != nil {
			errs = append(errs, yamlError(at, err))
			continue
		}
		errs = append(errs, p.check(at)...)
		probes = append(probes, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return probes, nil
}

// probeNodes finds the items of the top-level "probes" list.
func probeNodes(file *ast.File) ([]ast.Node, error) {
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return nil, errors.New("probes: the file is empty, want a list of probes")
	}
	root, ok := file.Docs[0].Body.(*ast.MappingNode)
	if !ok {
		return nil, errors.New("the file must be a mapping with a probes: list")
	}
	var seq *ast.SequenceNode
	for _, kv := range root.Values {
		if name := keyName(kv.Key); name != "probes" {
			return nil, fmt.Errorf("%s: unknown key (line %d), the file has only probes:", name, kv.Key.GetToken().Position.Line)
		}
		if seq, ok = kv.Value.(*ast.SequenceNode); !ok {
			return nil, errors.New("probes: want a list")
		}
	}
	if seq == nil || len(seq.Values) == 0 {
		return nil, errors.New("probes: want at least one probe")
	}
	return seq.Values, nil
}

// keyName is a mapping key without the quotes JSON puts around it.
func keyName(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.String()
}

// yamlError strips the source snippet from a go-yaml error and prefixes the
// probe it belongs to.
func yamlError(at string, err error) error {
	msg := err.Error()
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil {
			msg = fmt.Sprintf("line %d: %s", tk.Position.Line, msg)
		}
	}
	if at == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", at, msg)
}

// check validates one decoded probe and compiles its paths and regexes.
func (p *Probe) check(at string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{at, field}, args...)...))
	}
	if p.Method == "" {
		p.Method = http.MethodGet
	}
	p.Method = strings.ToUpper(p.Method)
	if !validMethod(p.Method) {
		bad("method", "%q is not an HTTP method", p.Method)
	}
	if !strings.HasPrefix(p.Path, "/") {
		bad("path", "want a path starting with /, got %q", p.Path)
	}
	if s := p.Expect.Status; s != 0 && (s < 100 || s > 599) {
		bad("expect.status", "%d is not an HTTP status", s)
	}
	if p.Expect.MaxLatency < 0 {
		bad("expect.max_latency", "must be positive, got %s", p.Expect.MaxLatency)
	}
	for j := range p.Expect.JSON {
		for _, err := range p.Expect.JSON[j].check() {
			bad(fmt.Sprintf("expect.json[%d].%s", j, err.field), "%s", err.msg)
		}
	}
	return errs
}

type fieldError struct{ field, msg string }

func (e *JSONExpect) check() []fieldError {
	var errs []fieldError
	var err error
	if e.path, err = jsonpath.Parse(e.Path); err != nil {
		errs = append(errs, fieldError{"path", err.Error()})
	}
	if e.Regex != "" {
		if e.regex, err = regexp.Compile(e.Regex); err != nil {
			errs = append(errs, fieldError{"regex", err.Error()})
		}
	}
	if e.Range != nil && (len(e.Range) != 2 || e.Range[0] > e.Range[1]) {
		errs = append(errs, fieldError{"range", fmt.Sprintf("want [min, max] with min <= max, got %v", e.Range)})
	}
	return errs
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
