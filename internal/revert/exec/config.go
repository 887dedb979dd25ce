package exec

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
)

// DefaultTimeout bounds one run of the program when the config sets none.
const DefaultTimeout = 60 * time.Second

// Fields are the names a template may use, as {{.To}}.
var Fields = []string{"Service", "From", "To", "Reason"}

// versionPattern is what From and To must match before they reach a
// program: a version name, never an option, a path or shell syntax.
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// envPattern is a portable environment variable name.
var envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Config is the exec target's configuration. In YAML:
//
//	exec:
//	  argv: [/usr/local/bin/switch-model, "--to", "{{.To}}"]
//	  timeout: 60s          # default 60s
//	  env: [AWS_PROFILE]    # optional: variables passed through
//
// Each element of argv is one argument. Elements after the first may be
// text/template templates over .Service, .From, .To and .Reason; each
// expands into exactly that one argument, so no value can split into
// several or be read by a shell. There is no other templated field.
type Config struct {
	Argv    []string      `yaml:"argv"`
	Timeout time.Duration `yaml:"timeout"`
	// Env names environment variables passed through to the program
	// besides PATH, HOME, LANG, LC_ALL, TZ and TMPDIR. Nothing else of
	// ripcord's environment (which may hold its own secrets) is passed.
	Env []string `yaml:"env"`
}

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem at once, each naming its field and the
// fix. It parses every template and runs it on sample values.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

// arg is one compiled argv element.
type arg struct {
	tmpl   *template.Template // nil for a literal
	lit    string
	fields []string // the Fields the template names
}

// compile parses argv; a nil error means every template runs.
func (c Config) compile() ([]arg, error) {
	var errs field.Errors
	add := func(key, format string, a ...any) { errs.Add(key, format, a...) }
	if len(c.Argv) == 0 {
		add("argv", "argv is required: the program and its arguments, e.g. argv: [/usr/local/bin/switch-model, \"--to\", \"{{.To}}\"]")
	}
	args := make([]arg, len(c.Argv))
	namesTo := false
	for i, s := range c.Argv {
		if i == 0 {
			args[0].lit = s
			if err := checkProgram(s); err != nil {
				add("argv[0]", "argv[0]: %v", err)
			}
			continue
		}
		a, err := compileArg(i, s)
		if err != nil {
			add(fmt.Sprintf("argv[%d]", i), "argv[%d]: %v", i, err)
			continue
		}
		args[i] = a
		namesTo = namesTo || slices.Contains(a.fields, "To")
	}
	if len(c.Argv) > 0 && !namesTo {
		add("argv", "argv: no argument names {{.To}}, so the program cannot know which version to switch to: add one, e.g. \"--to\", \"{{.To}}\"")
	}
	if c.Timeout < 0 {
		add("timeout", "timeout %s is negative: use a positive duration such as 60s", c.Timeout)
	}
	for i, name := range c.Env {
		if !envPattern.MatchString(name) {
			add(fmt.Sprintf("env[%d]", i), "env[%d]: %q is not an environment variable name (letters, digits, _)", i, name)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("exec target: %w", err)
	}
	return args, nil
}

// checkProgram insists on an absolute literal path: no template, no PATH
// search, so what runs is what the config names.
func checkProgram(s string) error {
	switch {
	case s == "":
		return errors.New("is empty: name the program by its absolute path, e.g. /usr/local/bin/switch-model")
	case strings.Contains(s, "{{"):
		return errors.New("the program must be a literal path, not a template: templates are allowed only in later arguments")
	case !filepath.IsAbs(s):
		return fmt.Errorf("%q is not an absolute path: write the full path (e.g. /usr/local/bin/%s); ripcord does not search PATH", s, filepath.Base(s))
	case strings.ContainsRune(s, 0):
		return errors.New("contains a NUL byte")
	}
	return nil
}

// compileArg parses one argument and checks it runs on sample values.
func compileArg(i int, s string) (arg, error) {
	if strings.ContainsRune(s, 0) {
		return arg{}, errors.New("contains a NUL byte")
	}
	if !strings.Contains(s, "{{") {
		return arg{lit: s}, nil
	}
	t, err := template.New(fmt.Sprintf("argv[%d]", i)).Option("missingkey=error").Parse(s)
	if err != nil {
		return arg{}, fmt.Errorf("bad template: %w", err)
	}
	fields, bad := namedFields(t.Root)
	if len(bad) > 0 {
		return arg{}, fmt.Errorf("{{.%s}} is not a field: use %s", bad[0], fieldList())
	}
	sample := data{Service: "svc", From: "v2", To: "v1", Reason: "sample reason"}
	var b strings.Builder
	if err := t.Execute(&b, sample); err != nil {
		return arg{}, fmt.Errorf("template does not run: %w", err)
	}
	return arg{tmpl: t, fields: fields}, nil
}

func fieldList() string {
	out := make([]string, len(Fields))
	for i, f := range Fields {
		out[i] = "{{." + f + "}}"
	}
	return strings.Join(out, ", ")
}

// namedFields walks a template's tree for the fields it reads: known ones
// (sorted, once each) and unknown ones.
func namedFields(root parse.Node) (known, unknown []string) {
	var visit func(parse.Node)
	note := func(ident []string) {
		if len(ident) == 0 {
			return
		}
		if slices.Contains(Fields, ident[0]) {
			if !slices.Contains(known, ident[0]) {
				known = append(known, ident[0])
			}
		} else {
			unknown = append(unknown, ident[0])
		}
	}
	visitPipe := func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				visit(a)
			}
		}
	}
	visit = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					visit(c)
				}
			}
		case *parse.ActionNode:
			visitPipe(n.Pipe)
		case *parse.PipeNode:
			visitPipe(n)
		case *parse.FieldNode:
			note(n.Ident)
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				note(n.Ident[1:])
			}
		case *parse.ChainNode:
			visit(n.Node)
		case *parse.IfNode:
			visitBranch(&n.BranchNode, visit, visitPipe)
		case *parse.RangeNode:
			visitBranch(&n.BranchNode, visit, visitPipe)
		case *parse.WithNode:
			visitBranch(&n.BranchNode, visit, visitPipe)
		}
	}
	visit(root)
	slices.Sort(known)
	return known, unknown
}

func visitBranch(b *parse.BranchNode, visit func(parse.Node), visitPipe func(*parse.PipeNode)) {
	visitPipe(b.Pipe)
	if b.List != nil {
		visit(b.List)
	}
	if b.ElseList != nil {
		visit(b.ElseList)
	}
}
