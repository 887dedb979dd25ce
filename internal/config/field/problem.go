package field

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration: where it is (Path, in the
// form services[1].policy.thresholds.error_rate.max, and the 1-based Line in
// the file, 0 when unknown) and what to do about it. Msg never contains a
// secret.
//
// A provider's Validate gives paths relative to its own block ("mode",
// "queries.error_rate") and no line; the loader completes both.
type Problem struct {
	Path string
	Line int
	Msg  string
}

// Error formats the problem as "path: line N: msg", leaving out the parts
// that are unknown.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in a configuration, reported together so a
// user can fix a file in one pass; callers reach the individual problems
// with errors.As.
type Errors []Problem

// Error lists the problems, one per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Add records a problem at path. Messages name keys, files and variables,
// never a secret's value.
func (e *Errors) Add(path, format string, args ...any) {
	*e = append(*e, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// MissingSecret records that the secret at path (key NAME) is required,
// saying both ways to give it.
func (e *Errors) MissingSecret(path string) {
	key := path[strings.LastIndexByte(path, '.')+1:]
	e.Add(path, "is required: set %s_file: PATH (a file holding it) or %s: ${ENV_VAR}", key, key)
}

// Err returns the problems in file order (those without a line first), or
// a nil error (not a nil Errors in an interface) when there are none.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	sort.SliceStable(e, func(i, j int) bool { return e[i].Line < e[j].Line })
	return e
}

// Join appends key to path: Join("services[0]", "name") is
// services[0].name, Join("", "api") is api, and an index or a relative path
// starting with one joins without a dot: Join("versions", "[1].url").
func Join(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	case key[0] == '[':
		return path + key
	}
	return path + "." + key
}

// Index is path[i].
func Index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// File is a file path in a provider's Config. The loader makes a relative
// path absolute against the config file's directory, so ripcord behaves the
// same whatever directory it is started from; an empty File stays empty.
type File string
